import { Fragment, useState } from "react";

import { FieldChanges } from "@/components/ui/field-changes";

import type { TimelineEvent } from "../types/admin";
import { labelChanges } from "../utils/field-labels";
import { formatTime } from "../utils/format";
import { StoredMessage } from "./stored-message";

type EventsTableProps = {
  events: TimelineEvent[];
  /** The stream sequence the page is shown as of, marked in the table. */
  selected: number | null;
  onAsOf: (streamSequence: number) => void;
};

/** Every event of every life of a slug; each opens to what it changed and the message as stored. */
export function EventsTable({ events, selected, onAsOf }: EventsTableProps) {
  const [open, setOpen] = useState<Set<number>>(() => new Set());
  const [json, setJson] = useState<Set<number>>(() => new Set());
  const toggle = (set: Set<number>, value: number) => {
    const next = new Set(set);
    if (next.has(value)) next.delete(value);
    else next.add(value);
    return next;
  };

  if (events.length === 0) return <p className="muted">No event was ever stored for this slug.</p>;
  const lives = [...new Set(events.filter((e) => e.page_id !== 0).map((e) => e.page_id))];
  return (
    <div className="admin-table-wrap">
      <table className="admin-table admin-events" data-testid="admin-events">
        <caption className="visually-hidden">Events of this slug, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">
              <span className="visually-hidden">Details</span>
            </th>
            <th scope="col" className="admin-num">
              Seq.
            </th>
            <th scope="col" className="admin-num">
              Stream seq.
            </th>
            <th scope="col">Time</th>
            <th scope="col">Type</th>
            <th scope="col">Version</th>
            <th scope="col">Command</th>
            <th scope="col">Life</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {events.map((event) => {
            const seq = event.stream_sequence;
            const expanded = open.has(seq);
            const detailsId = `admin-event-${seq}`;
            const life = lives.indexOf(event.page_id) + 1;
            return (
              <Fragment key={seq}>
                <tr
                  className={`admin-event ${selected === seq ? "is-selected" : ""} ${event.erased ? "is-erased" : ""}`}
                  data-testid="admin-event"
                  data-stream-sequence={seq}
                  data-event-type={event.event_type}
                  data-erased={event.erased ? "true" : undefined}
                  aria-current={selected === seq ? "true" : undefined}
                >
                  <td>
                    <button
                      type="button"
                      className="admin-disclosure"
                      aria-expanded={expanded}
                      aria-controls={detailsId}
                      onClick={() => setOpen((s) => toggle(s, seq))}
                      data-testid="admin-event-toggle"
                    >
                      <span aria-hidden="true">{expanded ? "▾" : "▸"}</span>
                      <span className="visually-hidden">
                        {expanded ? "Hide" : "Show"} what event {seq} changed
                      </span>
                    </button>
                  </td>
                  <td className="admin-num">{event.sequence}</td>
                  <td className="admin-num">{seq}</td>
                  <td className="admin-time">
                    <time dateTime={event.timestamp}>{formatTime(event.timestamp)}</time>
                  </td>
                  <td>
                    <code>{event.event_type}</code>
                    {event.erased && (
                      <span className="admin-badge admin-badge--erased" data-testid="admin-event-erased">
                        erased
                      </span>
                    )}
                  </td>
                  <td>{event.event_version || "—"}</td>
                  <td>
                    <code className="admin-id" title={event.command_id}>
                      {event.command_id || "—"}
                    </code>
                  </td>
                  <td>{life > 0 ? `#${life}` : "—"}</td>
                  <td>
                    <button
                      type="button"
                      className="link-button admin-as-of-link"
                      onClick={() => onAsOf(seq)}
                      data-testid="admin-as-of-button"
                    >
                      View as of
                    </button>
                  </td>
                </tr>
                {expanded && (
                  <tr className="admin-event-details" id={detailsId} data-testid="admin-event-details">
                    <td colSpan={9}>
                      {event.erased ? (
                        <p className="muted">Erased: only this skeleton is left of it.</p>
                      ) : (
                        <FieldChanges changes={labelChanges(event.changes)} />
                      )}
                      <p className="admin-event-ids muted">
                        Event <code>{event.event_id || "—"}</code>
                        {event.changed_fields.length > 0 && <> · fields {event.changed_fields.join(", ")}</>}
                      </p>
                      <button
                        type="button"
                        className="button button--small button--ghost"
                        aria-expanded={json.has(seq)}
                        onClick={() => setJson((s) => toggle(s, seq))}
                        data-testid="admin-show-json"
                      >
                        {json.has(seq) ? "Hide stored JSON" : "Stored JSON"}
                      </button>
                      {json.has(seq) && <StoredMessage streamSequence={seq} />}
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
