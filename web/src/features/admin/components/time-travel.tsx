import { useEffect, useState } from "react";

import { PageDesign } from "@/components/designs/page-design";
import { FieldChanges } from "@/components/ui/field-changes";
import { Spinner } from "@/components/ui/spinner";
import { useResource } from "@/lib/use-resource";

import { getPageAsOf } from "../api/get-page-as-of";
import { useAdmin } from "../hooks/admin-context";
import type { PageVersion } from "../types/admin";
import { labelChanges } from "../utils/field-labels";
import { formatTime, prettyJson } from "../utils/format";
import { ConsoleError } from "./console-error";

type TimeTravelProps = {
  slug: string;
  /** A stream sequence or an RFC 3339 time; `null` until one is chosen. */
  at: string | null;
  onAt: (at: string) => void;
};

/** Picks a point in the slug's history: a stream sequence, or a time. */
function AtForm({ at, onAt }: { at: string | null; onAt: (at: string) => void }) {
  const [typed, setTyped] = useState(at ?? "");
  useEffect(() => setTyped(at ?? ""), [at]);
  return (
    <form
      className="admin-search"
      onSubmit={(event) => {
        event.preventDefault();
        if (typed.trim() !== "") onAt(typed.trim());
      }}
    >
      <div className="field">
        <label className="field-label" htmlFor="admin-as-of">
          As of stream sequence or time
        </label>
        <input
          id="admin-as-of"
          type="text"
          inputMode="text"
          autoComplete="off"
          spellCheck={false}
          placeholder="42 or 2026-02-14T09:00:00Z"
          value={typed}
          onChange={(event) => setTyped(event.target.value)}
          aria-describedby="admin-as-of-hint"
          data-testid="admin-as-of-input"
        />
      </div>
      <button type="submit" className="button" data-testid="admin-as-of-go">
        Show
      </button>
      <p className="field-hint admin-search-hint" id="admin-as-of-hint">
        Or choose “View as of” on an event below.
      </p>
    </form>
  );
}

/** What the design cannot show: how the page was set up then. */
function Setup({ page }: { page: PageVersion }) {
  const rows: [string, string][] = [
    ["Design", page.template_id],
    ["Song", page.song_url ?? "none"],
    ["Opening time", page.reveal_at ? formatTime(page.reveal_at) : "none"],
    ["PIN", page.pin ? "set" : "none"],
    ["Photo", page.photo === null ? "none" : prettyJson(page.photo)],
    ["Opened", page.opened ? "yes" : "not yet"],
    ["Reply", page.answer === null ? "none" : String(page.answer)],
    ["Reports", String(page.reports)],
    ["Taken down", page.taken_down ?? "no"],
  ];
  return (
    <dl className="admin-setup">
      {rows.map(([name, value]) => (
        <div key={name}>
          <dt>{name}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * The page as it stood after a chosen event, in its design (read from the event stream:
 * nothing is counted, no reply can be sent), beside what that event changed.
 */
export function TimeTravel({ slug, at, onAt }: TimeTravelProps) {
  const { token } = useAdmin();
  const { resource, reload } = useResource(
    (signal) => (at === null ? Promise.resolve(null) : getPageAsOf(token, slug, at, signal)),
    [token, slug, at],
  );
  const asOf = resource.state === "ready" ? resource.data : null;
  const last = asOf?.events[asOf.events.length - 1] ?? null;

  return (
    <section className="admin-section" aria-labelledby="admin-time-travel-title">
      <h2 id="admin-time-travel-title" className="section-title" tabIndex={-1}>
        Time travel
      </h2>
      <AtForm at={at} onAt={onAt} />
      {at !== null && resource.state === "loading" && <Spinner label="Reading the history" />}
      {resource.state === "failed" && <ConsoleError error={resource.error} onRetry={reload} />}
      {asOf && (
        <div className="admin-as-of" data-testid="admin-as-of" data-at={asOf.at}>
          <div className="admin-as-of-page">
            <h3 className="admin-subtitle">
              The page as of {/^\d+$/.test(asOf.at) ? `stream sequence ${asOf.at}` : formatTime(asOf.at)}
            </h3>
            {asOf.page === null ? (
              <p className="muted" data-testid="admin-as-of-none">
                No page was live at this point, or what it said has been erased.
              </p>
            ) : (
              <>
                <div className="admin-design-frame" data-testid="admin-as-of-page">
                  <PageDesign content={asOf.page} templateId={asOf.page.template_id} variant="preview" startRevealed />
                </div>
                <Setup page={asOf.page} />
              </>
            )}
          </div>
          <div className="admin-as-of-diff" data-testid="admin-as-of-changes">
            <h3 className="admin-subtitle">
              {last ? (
                <>
                  What <code>{last.event_type}</code> (stream sequence {last.stream_sequence}) changed
                </>
              ) : (
                "No event yet at this point"
              )}
            </h3>
            {last &&
              (last.erased ? (
                <p className="muted">This event was erased.</p>
              ) : (
                <FieldChanges changes={labelChanges(last.changes)} />
              ))}
          </div>
        </div>
      )}
    </section>
  );
}
