import { useEffect, useState } from "react";

import type { PageContent } from "@/features/pages/types/page";

export type Draft = {
  step: 1 | 2 | 3;
  content: PageContent;
  slug: string;
  /** Where to mail the first open and the answer; blank for no mails. */
  notifyEmail: string;
  /** A link to the page's song; blank for none. */
  song: string;
  /** When the page opens, as the date-time picker gives it (local time); blank opens it at once. */
  revealAt: string;
};

const KEY = "valentine:draft";

export const EMPTY_DRAFT: Draft = {
  step: 1,
  content: { title: "", message: "", sender_name: "", recipient_name: "", template_id: "classic" },
  slug: "",
  notifyEmail: "",
  song: "",
  revealAt: "",
};

function read(): Draft | null {
  try {
    const raw = window.sessionStorage.getItem(KEY);
    if (!raw) return null;
    const value = JSON.parse(raw) as Partial<Draft>;
    if (!value || typeof value !== "object" || !value.content) return null;
    return {
      step: value.step === 2 || value.step === 3 ? value.step : 1,
      content: { ...EMPTY_DRAFT.content, ...value.content },
      slug: typeof value.slug === "string" ? value.slug : "",
      notifyEmail: typeof value.notifyEmail === "string" ? value.notifyEmail : "",
      song: typeof value.song === "string" ? value.song : "",
      revealAt: typeof value.revealAt === "string" ? value.revealAt : "",
    };
  } catch {
    return null;
  }
}

/**
 * The page being written, kept in this tab's sessionStorage so that a reload or a look at
 * another page loses none of it (a chosen photo and a PIN are never stored). `clear`
 * forgets it once the page exists.
 */
export function useDraft(initialSlug: string | null) {
  const [draft, setDraft] = useState<Draft>(() => {
    const saved = read() ?? EMPTY_DRAFT;
    return initialSlug ? { ...saved, slug: initialSlug } : saved;
  });

  useEffect(() => {
    try {
      window.sessionStorage.setItem(KEY, JSON.stringify(draft));
    } catch {
      // Without storage the draft lives as long as the page.
    }
  }, [draft]);

  const clear = () => {
    try {
      window.sessionStorage.removeItem(KEY);
    } catch {
      // Nothing stored.
    }
  };

  return { draft, setDraft, clear };
}
