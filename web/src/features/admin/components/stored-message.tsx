import { Spinner } from "@/components/ui/spinner";
import { useResource } from "@/lib/use-resource";

import { getMessage } from "../api/get-message";
import { useAdmin } from "../hooks/admin-context";
import { formatTime, prettyJson } from "../utils/format";
import { ConsoleError } from "./console-error";

/** The message at a stream position, exactly as stored (secrets redacted), indented. */
export function StoredMessage({ streamSequence }: { streamSequence: number }) {
  const { token } = useAdmin();
  const { resource, reload } = useResource(
    (signal) => getMessage(token, streamSequence, signal),
    [token, streamSequence],
  );
  if (resource.state === "loading") return <Spinner label="Loading the stored message" />;
  if (resource.state === "failed") return <ConsoleError error={resource.error} onRetry={reload} />;
  const message = resource.data;
  return (
    <div className="admin-stored" data-testid="admin-stored-message">
      <p className="admin-stored-meta">
        <code>{message.subject}</code> · stored {formatTime(message.stored_at)}
        {message.erased ? " · sealed for good (erased)" : message.opened ? " · opened" : ""}
      </p>
      {message.headers.length > 0 && (
        <dl className="admin-headers">
          {message.headers.map((header, i) => (
            <div key={`${header.name}-${i}`}>
              <dt>{header.name}</dt>
              <dd>
                <code>{header.value}</code>
              </dd>
            </div>
          ))}
        </dl>
      )}
      <pre className="admin-json" data-testid="admin-stored-json" tabIndex={0} aria-label="Stored JSON">
        {prettyJson(message.commit)}
      </pre>
    </div>
  );
}
