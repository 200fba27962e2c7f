import { createContext, useContext, type ReactNode } from "react";

import type { DesignContent } from "./types";

/** Level of a design's title: `h1` when the design is the page, `h2` inside a preview. */
export const HeadingLevelContext = createContext<1 | 2>(1);

export function DesignTitle({ children, className = "" }: { children: ReactNode; className?: string }) {
  const level = useContext(HeadingLevelContext);
  const Tag = level === 1 ? "h1" : "h2";
  return (
    <Tag className={`design-title ${className}`} data-testid="page-title">
      {children}
    </Tag>
  );
}

/** "Dear Alice," or whatever the design says before the recipient's name. */
export function ToLine({ content, lead = "For" }: { content: DesignContent; lead?: string }) {
  return <NameLine className="design-to" testId="page-to" lead={lead} name={content.recipient_name} />;
}

/** "With love, Bob" or whatever the design says before the sender's name. */
export function FromLine({ content, lead = "With love," }: { content: DesignContent; lead?: string }) {
  return <NameLine className="design-from" testId="page-from" lead={lead} name={content.sender_name} />;
}

type NameLineProps = { className: string; testId: string; lead: string; name: string | null };

/** A name with the words before it; nothing when the author left the name out. */
function NameLine({ className, testId, lead, name }: NameLineProps) {
  if (!name) return null;
  return (
    <p className={className} data-testid={testId}>
      {lead} <span className="design-name">{name}</span>
    </p>
  );
}

/** The message, with its line breaks kept. Present only once the visitor may read it. */
export function Message({ content, className = "" }: { content: DesignContent; className?: string }) {
  return (
    <p className={`design-message ${className}`} data-testid="revealed-message">
      {content.message}
    </p>
  );
}

export function Ornament({ children = "♥" }: { children?: ReactNode }) {
  return (
    <p className="design-ornament" aria-hidden="true">
      {children}
    </p>
  );
}

/** The page's photo and song, under the message; nothing when there are none. */
export function Keepsakes({ children }: { children?: ReactNode }) {
  if (!children) return null;
  return (
    <div className="design-keepsakes" data-testid="page-keepsakes">
      {children}
    </div>
  );
}
