import { Spinner } from "@/components/ui/spinner";
import { useResource } from "@/lib/use-resource";

import { getStreams } from "../api/get-streams";
import { useAdmin } from "../hooks/admin-context";
import { formatBytes, formatTime } from "../utils/format";
import { ConsoleError } from "./console-error";

/** Every stream of the event store, and where each of its durable consumers stands. */
export function StreamsView() {
  const { token } = useAdmin();
  const { resource, reload } = useResource((signal) => getStreams(token, signal), [token]);
  return (
    <section className="admin-section" aria-labelledby="admin-streams-title">
      <div className="admin-section-head">
        <h2 id="admin-streams-title" className="section-title">
          Streams
        </h2>
        <button type="button" className="button button--small button--ghost" onClick={reload}>
          Refresh
        </button>
      </div>
      {resource.state === "loading" && <Spinner label="Loading streams" />}
      {resource.state === "failed" && <ConsoleError error={resource.error} onRetry={reload} />}
      {resource.state === "ready" &&
        resource.data.streams.map((stream) => (
          <article
            key={stream.name}
            className="admin-card"
            data-testid="admin-stream"
            data-name={stream.name}
            aria-labelledby={`stream-${stream.name}`}
          >
            <h3 id={`stream-${stream.name}`} className="admin-subtitle">
              <code>{stream.name}</code>
            </h3>
            <dl className="admin-facts">
              <div>
                <dt>Messages</dt>
                <dd>{stream.messages}</dd>
              </div>
              <div>
                <dt>Size</dt>
                <dd>{formatBytes(stream.bytes)}</dd>
              </div>
              <div>
                <dt>Sequences</dt>
                <dd>
                  {stream.first_sequence}–{stream.last_sequence}
                </dd>
              </div>
              <div>
                <dt>Last message</dt>
                <dd>{formatTime(stream.last_at)}</dd>
              </div>
              <div>
                <dt>Subjects</dt>
                <dd>
                  <code>{stream.subjects.join(" ")}</code>
                </dd>
              </div>
            </dl>
            {stream.consumers.length === 0 ? (
              <p className="muted">No durable consumer.</p>
            ) : (
              <div className="admin-table-wrap">
                <table className="admin-table">
                  <caption className="visually-hidden">Consumers of {stream.name}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Consumer</th>
                      <th scope="col" className="admin-num">
                        Acknowledged through
                      </th>
                      <th scope="col" className="admin-num">
                        Delivered through
                      </th>
                      <th scope="col" className="admin-num">
                        Pending
                      </th>
                      <th scope="col" className="admin-num">
                        Unacknowledged
                      </th>
                      <th scope="col" className="admin-num">
                        Redelivered
                      </th>
                      <th scope="col" className="admin-num">
                        Waiting pulls
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {stream.consumers.map((consumer) => (
                      <tr key={consumer.name} data-testid="admin-consumer" data-name={consumer.name}>
                        <th scope="row">
                          <code>{consumer.name}</code>
                        </th>
                        <td className="admin-num">{consumer.acknowledged_through}</td>
                        <td className="admin-num">{consumer.delivered_through}</td>
                        <td className="admin-num">{consumer.pending}</td>
                        <td className="admin-num">{consumer.unacknowledged}</td>
                        <td className="admin-num">{consumer.redelivered}</td>
                        <td className="admin-num">{consumer.waiting}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </article>
        ))}
    </section>
  );
}
