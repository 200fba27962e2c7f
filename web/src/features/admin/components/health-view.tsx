import { Spinner } from "@/components/ui/spinner";

import { getLag } from "../api/get-lag";
import { useAdmin } from "../hooks/admin-context";
import { usePolling } from "../hooks/use-polling";
import type { Worker } from "../types/admin";
import { formatSeconds, formatTime } from "../utils/format";
import { ConsoleError } from "./console-error";
import { ParkedEvents } from "./parked-events";

/** How often the health view asks again. */
export const HEALTH_REFRESH_MS = 2000;

/** Workers beat every five seconds: three beats missed, and what they last said is stale. */
export const SILENT_AFTER_SECONDS = 15;

function workerState(worker: Worker): { label: string; tone: string } {
  if (worker.heartbeat_age_seconds > SILENT_AFTER_SECONDS) return { label: "silent", tone: "bad" };
  if (worker.stuck) return { label: "stuck", tone: "bad" };
  if (!worker.ready) return { label: "not ready", tone: "warn" };
  return { label: "ready", tone: "ok" };
}

/** Each consumer's lag and each worker's heartbeat, asked again every two seconds; and the parked events. */
export function HealthView() {
  const { token } = useAdmin();
  const lag = usePolling((signal) => getLag(token, signal), HEALTH_REFRESH_MS, [token]);

  return (
    <>
      <section className="admin-section" aria-labelledby="admin-lag-title">
        <div className="admin-section-head">
          <h2 id="admin-lag-title" className="section-title">
            Consumers
          </h2>
          <p className="muted admin-updated" data-testid="admin-health-updated" aria-live="off">
            {lag.updatedAt !== null
              ? `Updated ${new Date(lag.updatedAt).toLocaleTimeString()} · every ${HEALTH_REFRESH_MS / 1000} s`
              : "Loading…"}
          </p>
        </div>
        {lag.error !== null && <ConsoleError error={lag.error} onRetry={lag.refresh} />}
        {lag.data === null && lag.error === null && <Spinner label="Loading lag" />}
        {lag.data && (
          <div className="admin-table-wrap">
            <table className="admin-table" data-testid="admin-lag">
              <caption className="visually-hidden">Each durable consumer's position and lag</caption>
              <thead>
                <tr>
                  <th scope="col">Consumer</th>
                  <th scope="col">Stream</th>
                  <th scope="col" className="admin-num">
                    Applied through
                  </th>
                  <th scope="col" className="admin-num">
                    Stream last
                  </th>
                  <th scope="col" className="admin-num">
                    Lag (events)
                  </th>
                  <th scope="col" className="admin-num">
                    Lag (time)
                  </th>
                  <th scope="col">Oldest unapplied</th>
                </tr>
              </thead>
              <tbody>
                {lag.data.consumers.map((c) => (
                  <tr
                    key={`${c.stream}/${c.consumer}`}
                    className={c.lag_events > 0 ? "is-behind" : undefined}
                    data-testid="admin-lag-consumer"
                    data-consumer={c.consumer}
                    data-stream={c.stream}
                    data-lag-events={c.lag_events}
                  >
                    <th scope="row">
                      <code>{c.consumer}</code>
                    </th>
                    <td>
                      <code>{c.stream}</code>
                    </td>
                    <td className="admin-num">{c.acknowledged_through}</td>
                    <td className="admin-num">{c.last_sequence}</td>
                    <td className="admin-num" data-testid="admin-lag-events">
                      {c.lag_events}
                    </td>
                    <td className="admin-num">{formatSeconds(c.lag_seconds)}</td>
                    <td>{formatTime(c.oldest_unapplied_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className="admin-section" aria-labelledby="admin-workers-title">
        <h2 id="admin-workers-title" className="section-title">
          Workers
        </h2>
        {lag.data &&
          (lag.data.workers.length === 0 ? (
            <p className="muted">No worker has sent a heartbeat in the last minute.</p>
          ) : (
            <div className="admin-table-wrap">
              <table className="admin-table" data-testid="admin-workers">
                <caption className="visually-hidden">Each worker's last heartbeat</caption>
                <thead>
                  <tr>
                    <th scope="col">Worker</th>
                    <th scope="col">Read model</th>
                    <th scope="col">Last heartbeat</th>
                    <th scope="col">Last commit</th>
                    <th scope="col">State</th>
                    <th scope="col">Its consumers</th>
                  </tr>
                </thead>
                <tbody>
                  {lag.data.workers.map((w) => {
                    const state = workerState(w);
                    return (
                      <tr
                        key={`${w.role}.${w.read_model}.${w.instance}`}
                        data-testid="admin-worker"
                        data-role={w.role}
                        data-ready={w.ready ? "true" : "false"}
                        data-stuck={w.stuck ? "true" : "false"}
                        data-state={state.label}
                      >
                        <th scope="row">
                          {w.role} <code>{w.instance}</code>
                        </th>
                        <td>
                          <code>{w.read_model}</code>
                        </td>
                        <td>
                          <span className={w.heartbeat_age_seconds > SILENT_AFTER_SECONDS ? "admin-stale" : undefined}>
                            {formatSeconds(w.heartbeat_age_seconds)} ago
                          </span>
                        </td>
                        <td>{formatTime(w.last_commit_at)}</td>
                        <td>
                          <span className={`admin-badge admin-badge--${state.tone}`}>{state.label}</span>
                          {w.reason && <span className="admin-reason"> {w.reason}</span>}
                        </td>
                        <td>
                          {w.consumers.map((c) => (
                            <span key={c.consumer} className="admin-worker-consumer">
                              <code>{c.consumer}</code> at {c.position}/{c.last_sequence}, {c.lag_events} behind
                              {c.lag_events > 0 ? ` (${formatSeconds(c.lag_seconds)})` : ""}
                            </span>
                          ))}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          ))}
      </section>

      <ParkedEvents />
    </>
  );
}
