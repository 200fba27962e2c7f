import type { ReactNode } from "react";

type NotifyEmailFieldProps = {
  id: string;
  value: string;
  onChange: (value: string) => void;
  onBlur?: () => void;
  error?: string | null;
  label?: string;
  /** Said under the label: what the address is for. */
  hint?: ReactNode;
  disabled?: boolean;
  /** Marked "(optional)" where it sits among fields that are not. */
  optional?: boolean;
};

/** An e-mail address for the mails about a page's first open and its answer. */
export function NotifyEmailField({
  id,
  value,
  onChange,
  onBlur,
  error,
  label = "Your e-mail",
  hint = "We'll write to you once when your page is first opened, and once when it is answered.",
  disabled = false,
  optional = true,
}: NotifyEmailFieldProps) {
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  return (
    <div className={`field ${error ? "field--error" : ""}`}>
      <label className="field-label" htmlFor={id}>
        {label}
        {optional && <span className="field-optional"> (optional)</span>}
      </label>
      <p className="field-hint" id={hintId}>
        {hint} The address is used only for these e-mails and is erased with the page.
      </p>
      <input
        id={id}
        name={id}
        type="email"
        inputMode="email"
        autoComplete="email"
        spellCheck={false}
        placeholder="you@example.com"
        value={value}
        disabled={disabled}
        onChange={(event) => onChange(event.target.value)}
        onBlur={onBlur}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${errorId} ${hintId}` : hintId}
        data-testid={id}
      />
      <div className="field-meta">
        <span className="field-error" id={errorId}>
          {error}
        </span>
      </div>
    </div>
  );
}
