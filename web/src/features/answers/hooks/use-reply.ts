import { useCallback, useRef, useState } from "react";

import type { Reply, ReplyStatus } from "@/components/designs/types";

import { answerFailure, sendAnswer } from "../api/send-answer";
import { answerKindFor } from "../utils/answer-kind";
import { keepAnswer, recallAnswer } from "../utils/kept-answer";

type ReplyPage = { slug: string; id: number; template_id: string };

/**
 * The visitor's one reply to `page`: ready, sending, sent (kept in this browser, so a
 * reload shows it at once) or failed with a retry. `author` is true when this browser
 * holds the page's edit token: the author's own "yes" is never sent. A page with a PIN
 * takes the reply with the PIN the visitor opened it with.
 *
 * A reply on its way is not cancelled when the page goes away: it is sent and kept all
 * the same.
 */
export function useReply(
  page: ReplyPage,
  { author = false, pin = null }: { author?: boolean; pin?: string | null } = {},
): Reply {
  const [status, setStatus] = useState<ReplyStatus>(() => {
    if (author) return { state: "author" };
    const kept = recallAnswer(page.slug, page.id);
    return kept ? { state: "sent", already: kept.already } : { state: "ready" };
  });
  // What `send` checks: the latest status, without waiting for a render.
  const current = useRef(status);
  const update = useCallback((next: ReplyStatus) => {
    current.current = next;
    setStatus(next);
  }, []);

  const { slug, id, template_id: templateId } = page;
  const send = useCallback(
    (dodges: number) => {
      const state = current.current.state;
      if (state !== "ready" && state !== "failed") return;
      const answer = answerKindFor(templateId);
      const input = { answer, dodges: answer === "yes" ? Math.max(0, Math.floor(dodges)) : 0 };
      update({ state: "sending" });
      sendAnswer(slug, input, { pin }).then(
        (recorded) => {
          keepAnswer(slug, id, { ...recorded, already: false });
          update({ state: "sent", already: false });
        },
        (error: unknown) => {
          const failure = answerFailure(error);
          if (failure.kind === "already") {
            keepAnswer(slug, id, { ...input, answered_at: null, already: true });
            update({ state: "sent", already: true });
          } else {
            update({ state: "failed", message: failure.message, canRetry: failure.kind === "retry" });
          }
        },
      );
    },
    [slug, id, templateId, pin, update],
  );

  return { status, send };
}
