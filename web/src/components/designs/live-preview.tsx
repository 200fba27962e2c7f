import { useState } from "react";

import { designFor, INTERACTION_HINTS } from "@/config/designs";

import { PageDesign } from "./page-design";

type LivePreviewProps = {
  templateId: string;
  title: string;
  message: string;
  senderName: string;
  recipientName: string;
  colors?: { primary: string; secondary: string };
};

/**
 * The page as it will look, updated while the author types. Interactive designs show
 * their revealed state, with a button to play the reveal as visitors will.
 */
export function LivePreview({ templateId, title, message, senderName, recipientName, colors }: LivePreviewProps) {
  const [play, setPlay] = useState(0);
  const design = designFor(templateId);
  const hint = INTERACTION_HINTS[design.id];
  const content = {
    title: title.trim() || "Your title",
    message: message.trim() || "Your message will appear here…",
    sender_name: senderName.trim() || null,
    recipient_name: recipientName.trim() || null,
  };
  return (
    <section className="live-preview" aria-label="Preview" data-testid="live-preview">
      <div className="live-preview-bar">
        <span className="live-preview-label">Preview</span>
        {hint && (
          <button
            type="button"
            className="link-button"
            data-testid="play-preview"
            onClick={() => setPlay((n) => (n > 0 ? 0 : 1))}
          >
            {play > 0 ? "Show revealed" : "Play the reveal"}
          </button>
        )}
      </div>
      {hint && <p className="live-preview-hint">{hint}</p>}
      <div className="live-preview-frame">
        <PageDesign
          key={`${design.id}-${play}`}
          content={content}
          templateId={templateId}
          colors={colors}
          variant="preview"
          startRevealed={play === 0}
        />
      </div>
    </section>
  );
}
