import { useEffect, useRef, useState } from "react";
import { Link, useParams } from "react-router";

import { PageDesign } from "@/components/designs/page-design";
import { WaitingDesign } from "@/components/designs/waiting-design";
import { AppShell } from "@/components/layout/app-shell";
import { Emblem } from "@/components/ui/emblem";
import { Notice } from "@/components/ui/notice";
import { Spinner } from "@/components/ui/spinner";
import { paths } from "@/config/paths";
import { useReply } from "@/features/answers/hooks/use-reply";
import { PagePhoto, photoAlt } from "@/features/pages/components/page-photo";
import { PinPrompt } from "@/features/pages/components/pin-prompt";
import { SongCard } from "@/features/pages/components/song-card";
import { usePageReading } from "@/features/pages/hooks/use-page-reading";
import type { LockedPage, Page } from "@/features/pages/types/page";
import { recallToken } from "@/features/pages/utils/edit-token";
import { describeRevealTime, hasRevealed } from "@/features/pages/utils/reveal-time";
import { ReportDialog } from "@/features/reports/components/report-dialog";
import { slugFormatProblem } from "@/features/slugs/utils/slug-rules";
import { ApiError, errorMessage } from "@/lib/api-client";
import { useDocumentTitle } from "@/lib/use-document-title";
import { msUntil } from "@/lib/server-clock";

/** `/:slug`: a page, shown in its design. */
export function ViewRoute() {
  const { slug = "" } = useParams();
  if (slugFormatProblem(slug) !== null) return <PageNotFound slug={slug} />;
  return <PageView slug={slug} />;
}

function PageView({ slug }: { slug: string }) {
  const editToken = recallToken(slug);
  const { reading, submitPin, open, reload } = usePageReading(slug, editToken);
  useDocumentTitle(
    reading.state === "ready"
      ? reading.page.title
      : reading.state === "locked"
        ? "Opening soon"
        : reading.state === "pin"
          ? "A private page"
          : null,
  );

  if (reading.state === "loading") {
    return (
      <main id="main" className="viewer viewer--loading" data-testid="page-loading">
        <Spinner label="Opening your valentine" />
      </main>
    );
  }
  if (reading.state === "pin") {
    return (
      <main id="main" className="viewer">
        <PinPrompt problem={reading.problem} checking={reading.checking} onSubmit={submitPin} />
      </main>
    );
  }
  if (reading.state === "locked") {
    return (
      <main id="main" className="viewer">
        <LockedPageView
          page={reading.page}
          offsetMs={reading.offsetMs}
          opening={reading.opening}
          stalled={reading.stalled}
          onDue={() => void open()}
        />
      </main>
    );
  }
  if (reading.state === "failed") {
    if (reading.error instanceof ApiError && reading.error.status === 404) return <PageNotFound slug={slug} />;
    if (reading.error instanceof ApiError && reading.error.status === 451) return <PageTakenDown />;
    return (
      <AppShell>
        <section className="panel panel--center">
          <Notice tone="error" title="We couldn't open this page">
            <p>{errorMessage(reading.error)}</p>
          </Notice>
          <button type="button" className="button" onClick={reload}>
            Try again
          </button>
        </section>
      </AppShell>
    );
  }

  return (
    <LoadedPage
      key={`${reading.page.slug}:${reading.page.id}`}
      page={reading.page}
      pin={reading.pin}
      editToken={editToken}
      justOpened={reading.justOpened}
    />
  );
}

type LockedPageViewProps = {
  page: LockedPage;
  offsetMs: number;
  opening: boolean;
  stalled: boolean;
  /** The opening time has come on the server's clock. */
  onDue: () => void;
};

/** A page before its time: a live countdown on the server's clock, then the page, without a reload. */
function LockedPageView({ page, offsetMs, opening, stalled, onDue }: LockedPageViewProps) {
  const [now, setNow] = useState(() => Date.now());
  const remaining = msUntil(page.reveal_at, offsetMs, now);
  const due = remaining <= 0;
  const asked = useRef(false);

  useEffect(() => {
    const tick = () => setNow(Date.now());
    const timer = window.setInterval(tick, 250);
    // A tab in the background may tick late: look again as soon as it is seen.
    document.addEventListener("visibilitychange", tick);
    return () => {
      window.clearInterval(timer);
      document.removeEventListener("visibilitychange", tick);
    };
  }, []);

  useEffect(() => {
    if (!due || asked.current) return;
    asked.current = true;
    onDue();
  }, [due, onDue]);

  const created = Date.parse(page.created_at);
  const total = Date.parse(page.reveal_at) - (Number.isNaN(created) ? Date.now() : created);
  return (
    <>
      <WaitingDesign
        templateId={page.template_id}
        recipientName={page.recipient_name}
        senderName={page.sender_name}
        opensOn={describeRevealTime(page.reveal_at)}
        remainingMs={remaining}
        totalMs={total}
      />
      <div className="viewer-opening" aria-live="polite">
        {due && opening && <Spinner label="Opening" />}
        {due && stalled && (
          <p className="viewer-stalled" data-testid="opening-stalled">
            It's time, but the page isn't quite ready.{" "}
            <button type="button" className="link-button" onClick={onDue}>
              Open it now
            </button>
          </p>
        )}
      </div>
      <footer className="viewer-footer viewer-footer--quiet">
        <ReportLink slug={page.slug} />
      </footer>
    </>
  );
}

type LoadedPageProps = {
  page: Page;
  pin: string | null;
  editToken: string | null;
  justOpened: boolean;
};

/** The page in its design, with its photo and song, and the visitor's one reply. */
function LoadedPage({ page, pin, editToken, justOpened }: LoadedPageProps) {
  const canEdit = editToken !== null;
  const reply = useReply(page, { author: canEdit, pin });
  const keepsakes =
    page.photo || page.song ? (
      <>
        {page.photo && (
          <PagePhoto
            photo={page.photo}
            alt={photoAlt(page.recipient_name, page.sender_name)}
            pin={pin}
            editToken={editToken}
          />
        )}
        {page.song && <SongCard song={page.song} />}
      </>
    ) : null;
  const notYetOpen = page.reveal_at !== null && !hasRevealed(page.reveal_at);
  return (
    <main id="main" className="viewer">
      {canEdit && (notYetOpen || page.has_pin) && (
        <p className="viewer-author-note" data-testid="author-preview">
          {notYetOpen
            ? `Only you can read it now: visitors see a countdown until ${describeRevealTime(page.reveal_at!)}.`
            : "Visitors need the PIN you chose to open this page."}
        </p>
      )}
      <PageDesign
        content={page}
        templateId={page.template_id}
        reply={reply}
        keepsakes={keepsakes}
        justOpened={justOpened}
      />
      <footer className="viewer-footer">
        <Link to={paths.home()} className="viewer-link" data-testid="make-your-own">
          Make your own ♥
        </Link>
        {canEdit && (
          <Link to={paths.edit(page.slug)} className="viewer-link" data-testid="edit-this-page">
            Edit this page
          </Link>
        )}
        <ReportLink slug={page.slug} />
      </footer>
    </main>
  );
}

/** A quiet way to tell the moderators about the page, in a small dialog. */
function ReportLink({ slug }: { slug: string }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className="link-button viewer-report"
        onClick={() => setOpen(true)}
        data-testid="report-page"
      >
        Report this page
      </button>
      {open && <ReportDialog slug={slug} onClose={() => setOpen(false)} />}
    </>
  );
}

/** The page's moderators took it down: nothing of it shows, calmly said. */
function PageTakenDown() {
  useDocumentTitle("Page unavailable");
  return (
    <AppShell>
      <section className="panel panel--center" data-testid="page-taken-down">
        <Emblem kind="letter" />
        <h1 className="screen-title">This page isn't available</h1>
        <p>This page was taken down by its moderators.</p>
        <div className="button-row button-row--center">
          <Link className="button" to={paths.home()}>
            Make your own valentine
          </Link>
        </div>
      </section>
    </AppShell>
  );
}

/** No page lives at this address (never did, or was deleted). */
function PageNotFound({ slug }: { slug: string }) {
  useDocumentTitle("Not found");
  const free = slugFormatProblem(slug) === null;
  return (
    <AppShell>
      <section className="panel panel--center" data-testid="page-not-found">
        <Emblem kind="letter" />
        <h1 className="screen-title">No valentine here… yet</h1>
        <p>
          There's no page at <strong className="nowrap">/{slug}</strong>. The link may have a typo, or the page was
          taken down.
        </p>
        <div className="button-row">
          <Link className="button" to={free ? paths.createAt(slug) : paths.home()} data-testid="create-here">
            {free ? "Create one at this address" : "Make a valentine"}
          </Link>
        </div>
      </section>
    </AppShell>
  );
}
