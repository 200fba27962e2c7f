import { useRef } from "react";
import { Link, useParams, useSearchParams } from "react-router";

import { Spinner } from "@/components/ui/spinner";
import { paths } from "@/config/paths";
import { getPageEvents } from "@/features/admin/api/get-page-events";
import { ConsoleError } from "@/features/admin/components/console-error";
import { EventsTable } from "@/features/admin/components/events-table";
import { ModerationPanel } from "@/features/admin/components/moderation-panel";
import { TimeTravel } from "@/features/admin/components/time-travel";
import { useAdmin } from "@/features/admin/hooks/admin-context";
import { useDocumentTitle } from "@/lib/use-document-title";
import { useResource } from "@/lib/use-resource";

/** `/admin/pages/:slug?at=`: one slug's events, every life; the page as of a point; its moderation. */
export function AdminPageRoute() {
  const { slug = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const at = params.get("at");
  const { token } = useAdmin();
  const events = useResource((signal) => getPageEvents(token, slug, signal), [token, slug]);
  const travel = useRef<HTMLDivElement>(null);
  useDocumentTitle(`/${slug} · Console`);

  const showAsOf = (value: string) => {
    setParams({ at: value }, { replace: true });
    // jsdom has no scrolling.
    travel.current?.scrollIntoView?.({ block: "start" });
    travel.current?.querySelector<HTMLElement>("h2")?.focus();
  };
  const selected = at !== null && /^\d+$/.test(at) ? Number(at) : null;

  return (
    <div className="admin-page" data-testid="admin-page" data-slug={slug}>
      <header className="admin-page-head">
        <p>
          <Link to={paths.admin()}>← Pages</Link>
        </p>
        <h1 className="admin-title-slug">/{slug}</h1>
        <a href={paths.page(slug)} target="_blank" rel="noopener">
          Open the public page
        </a>
      </header>

      <section className="admin-section" aria-labelledby="admin-moderation-title">
        <h2 id="admin-moderation-title" className="section-title">
          Moderation
        </h2>
        <ModerationPanel slug={slug} onDecided={events.reload} />
      </section>

      <div ref={travel}>
        <TimeTravel slug={slug} at={at} onAt={showAsOf} />
      </div>

      <section className="admin-section" aria-labelledby="admin-events-title">
        <div className="admin-section-head">
          <h2 id="admin-events-title" className="section-title">
            Events
          </h2>
          <button type="button" className="button button--small button--ghost" onClick={events.reload}>
            Refresh
          </button>
        </div>
        {events.resource.state === "loading" && <Spinner label="Loading events" />}
        {events.resource.state === "failed" && <ConsoleError error={events.resource.error} onRetry={events.reload} />}
        {events.resource.state === "ready" && (
          <EventsTable
            events={events.resource.data.events}
            selected={selected}
            onAsOf={(seq) => showAsOf(String(seq))}
          />
        )}
      </section>
    </div>
  );
}
