import { diffWords } from "@/lib/text-diff";

/** One field an event changed, with a label fit to show. `null`: it had (or has) no value. */
export type FieldChangeView = { field: string; label: string; before: string | null; after: string | null };

/** Values longer than this, or over several lines, are shown as two blocks with the words that changed marked. */
const INLINE_MAX = 60;

function isLong(value: string | null): boolean {
  return value !== null && (value.length > INLINE_MAX || value.includes("\n"));
}

function Value({ value }: { value: string | null }) {
  return value === null ? <em className="change-none">nothing</em> : <span className="change-value">{value}</span>;
}

/** Before and after of a long text, each whole, with what was taken out or put in marked. */
function LongChange({ before, after }: { before: string | null; after: string | null }) {
  const parts = diffWords(before ?? "", after ?? "");
  return (
    <div className="change-long">
      <div className="change-side">
        <span className="change-side-label">Before</span>
        {before === null ? (
          <Value value={null} />
        ) : (
          <p className="change-text" data-testid="change-before">
            {parts.map((part, i) =>
              part.kind === "added" ? null : part.kind === "removed" ? <del key={i}>{part.text}</del> : part.text,
            )}
          </p>
        )}
      </div>
      <div className="change-side">
        <span className="change-side-label">After</span>
        {after === null ? (
          <Value value={null} />
        ) : (
          <p className="change-text" data-testid="change-after">
            {parts.map((part, i) =>
              part.kind === "removed" ? null : part.kind === "added" ? <ins key={i}>{part.text}</ins> : part.text,
            )}
          </p>
        )}
      </div>
    </div>
  );
}

/** What changed, field by field: before → after, long texts as two readable blocks. */
export function FieldChanges({ changes }: { changes: FieldChangeView[] }) {
  if (changes.length === 0) return <p className="muted">It changed no field.</p>;
  return (
    <dl className="changes" data-testid="changes">
      {changes.map((change) => (
        <div key={change.field} className="change" data-testid="change" data-field={change.field}>
          <dt className="change-field">{change.label}</dt>
          <dd className="change-detail">
            {isLong(change.before) || isLong(change.after) ? (
              <LongChange before={change.before} after={change.after} />
            ) : (
              <>
                {change.before === null ? (
                  <Value value={null} />
                ) : (
                  <del className="change-from" data-testid="change-before">
                    {change.before}
                  </del>
                )}
                <span className="change-arrow" aria-label="changed to">
                  {" → "}
                </span>
                {change.after === null ? (
                  <Value value={null} />
                ) : (
                  <ins className="change-to" data-testid="change-after">
                    {change.after}
                  </ins>
                )}
              </>
            )}
          </dd>
        </div>
      ))}
    </dl>
  );
}
