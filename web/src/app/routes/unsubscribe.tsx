import { useEffect, useRef, useState } from "react";
import { Link, useLocation, useParams } from "react-router";

import { AppShell } from "@/components/layout/app-shell";
import { Emblem } from "@/components/ui/emblem";
import { Notice } from "@/components/ui/notice";
import { Spinner } from "@/components/ui/spinner";
import { paths } from "@/config/paths";
import { unsubscribe } from "@/features/pages/api/unsubscribe";
import { tokenFromHash } from "@/features/pages/utils/edit-token";
import { slugFormatProblem } from "@/features/slugs/utils/slug-rules";
import { ApiError, errorMessage } from "@/lib/api-client";
import { useDocumentTitle } from "@/lib/use-document-title";

type Outcome =
  | { kind: "working" }
  | { kind: "done" }
  | { kind: "invalid" }
  | { kind: "incomplete" }
  | { kind: "gone" }
  | { kind: "failed"; message: string };

// A reload after the fragment is gone from the address bar still shows the outcome.
const doneKey = (slug: string) => `valentine:unsubscribed:${slug.toLowerCase()}`;

function rememberDone(slug: string): void {
  try {
    window.sessionStorage.setItem(doneKey(slug), "1");
  } catch {
    // Without storage, a reload asks for the link again.
  }
}

function recallDone(slug: string): boolean {
  try {
    return window.sessionStorage.getItem(doneKey(slug)) !== null;
  } catch {
    return false;
  }
}

/** The token from the fragment (`#token=…`), which is then cleared from the address bar. */
function takeToken(hash: string): string | null {
  const token = tokenFromHash(hash);
  if (token && window.location.hash) {
    const { pathname, search } = window.location;
    window.history.replaceState(window.history.state, "", `${pathname}${search}`);
  }
  return token;
}

function outcomeOf(error: unknown): Outcome {
  if (error instanceof ApiError && (error.status === 403 || error.status === 401)) return { kind: "invalid" };
  if (error instanceof ApiError && error.status === 404) return { kind: "gone" };
  return { kind: "failed", message: errorMessage(error) };
}

/** `/:slug/unsubscribe#token=…`: the link in a notification mail, which stops them. */
export function UnsubscribeRoute() {
  const { slug = "" } = useParams();
  const { hash } = useLocation();
  const [token] = useState(() => takeToken(hash));
  const valid = slugFormatProblem(slug) === null;
  const [outcome, setOutcome] = useState<Outcome>(() => {
    if (!valid) return { kind: "gone" };
    if (token) return { kind: "working" };
    return recallDone(slug) ? { kind: "done" } : { kind: "incomplete" };
  });
  const [round, setRound] = useState(0);
  // One request per round, even when an effect runs twice.
  const request = useRef<{ round: number; answer: Promise<string> } | null>(null);
  useDocumentTitle("E-mails about a page");

  useEffect(() => {
    if (!valid || !token) return;
    if (request.current?.round !== round) request.current = { round, answer: unsubscribe(slug, token) };
    let current = true;
    request.current.answer.then(
      () => {
        rememberDone(slug);
        if (current) setOutcome({ kind: "done" });
      },
      (error: unknown) => current && setOutcome(outcomeOf(error)),
    );
    return () => {
      current = false;
    };
  }, [slug, token, valid, round]);

  return (
    <AppShell>
      <section className="panel panel--center unsubscribe" data-testid="unsubscribe" data-state={outcome.kind}>
        {outcome.kind === "working" && (
          <>
            <Emblem kind="letter" />
            <h1 className="screen-title">One moment…</h1>
            <p role="status">
              <Spinner label="Stopping the e-mails" /> Stopping the e-mails about /{slug}
            </p>
          </>
        )}
        {outcome.kind === "done" && (
          <>
            <Emblem kind="letter" />
            <h1 className="screen-title">You won't get more e{"\u2011"}mails about this page</h1>
            <p role="status">
              We won't write to you about <strong className="nowrap">/{slug}</strong> again. Nothing else about the page
              has changed.
            </p>
          </>
        )}
        {outcome.kind === "invalid" && (
          <>
            <Emblem kind="broken-heart" />
            <h1 className="screen-title">This link doesn't work</h1>
            <Notice tone="warning" title="The unsubscribe link is not valid, or no longer">
              <p>
                It may come from an older e-mail, or the e-mails may have been stopped already. The page's author can
                also change or remove the address in the editor.
              </p>
            </Notice>
          </>
        )}
        {outcome.kind === "incomplete" && (
          <>
            <Emblem kind="broken-heart" />
            <h1 className="screen-title">This link is incomplete</h1>
            <p>
              Part of the unsubscribe link (after <span className="nowrap">#token=</span>) is missing. Open the link
              from the e-mail again, or copy all of it.
            </p>
          </>
        )}
        {outcome.kind === "gone" && (
          <>
            <Emblem kind="broken-heart" />
            <h1 className="screen-title">This page is no longer here</h1>
            <p>Its e-mail address was erased with it, so no more e-mails will come about it.</p>
          </>
        )}
        {outcome.kind === "failed" && (
          <>
            <Notice tone="error" title="We couldn't stop the e-mails just now">
              <p>{outcome.message}</p>
            </Notice>
            <button
              type="button"
              className="button"
              onClick={() => {
                setOutcome({ kind: "working" });
                setRound((n) => n + 1);
              }}
            >
              Try again
            </button>
          </>
        )}
        <Link className="button button--ghost" to={paths.home()}>
          Make a valentine
        </Link>
      </section>
    </AppShell>
  );
}
