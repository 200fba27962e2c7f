import type { DesignStyle } from "@/config/designs";

/** What a design shows: a page's words, stored or still being written. */
export type DesignContent = {
  title: string;
  message: string;
  sender_name: string | null;
  recipient_name: string | null;
};

export type DesignProps = {
  content: DesignContent;
  style: DesignStyle;
  /** Show an interactive design already revealed (previews); static designs always are. */
  startRevealed: boolean;
  /** Told once when the visitor reaches the message. */
  onReveal?: () => void;
};
