import type { ReactNode } from "react";

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
  /** The visitor's reply, on the real page only. */
  reply?: Reply;
  /** What comes with the words once they show: the page's photo and song. */
  keepsakes?: ReactNode;
  /** The page has just opened at its set time: a countdown has been watched already. */
  justOpened?: boolean;
};

/** Where the visitor's one reply to the page stands. */
export type ReplyStatus =
  | { state: "ready" }
  | { state: "sending" }
  /** Sent, now or on an earlier visit; `already` when the page had been answered before. */
  | { state: "sent"; already: boolean }
  | { state: "failed"; message: string; canRetry: boolean }
  /** The page's author is looking: the reply is shown as visitors see it, never sent. */
  | { state: "author" };

/** The reply control of the viewer. Previews have none, so they never send anything. */
export type Reply = {
  status: ReplyStatus;
  /** Sends the reply; `dodges` counts how often the proposal's "No" ran away (0 elsewhere). */
  send: (dodges: number) => void;
};
