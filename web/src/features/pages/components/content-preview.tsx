import { LivePreview } from "@/components/designs/live-preview";

import type { PageContent } from "../types/page";

/** The live preview of a page's content, as the author is writing it. */
export function ContentPreview({ content }: { content: PageContent }) {
  return (
    <LivePreview
      templateId={content.template_id}
      title={content.title}
      message={content.message}
      senderName={content.sender_name}
      recipientName={content.recipient_name}
    />
  );
}
