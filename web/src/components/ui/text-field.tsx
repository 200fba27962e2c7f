import type { ChangeEvent, FocusEvent } from "react";

type TextFieldProps = {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  onBlur?: (event: FocusEvent<HTMLInputElement | HTMLTextAreaElement>) => void;
  /** Characters as the API counts them, shown against `max`. */
  length: number;
  max: number;
  multiline?: boolean;
  optional?: boolean;
  error?: string | undefined;
  placeholder?: string;
  autoComplete?: string;
  rows?: number;
};

/**
 * A labelled text input with a character counter. It never cuts input off at the limit
 * (characters are counted differently from what `maxLength` counts); going over shows an
 * error instead.
 */
export function TextField({
  id,
  label,
  value,
  onChange,
  onBlur,
  length,
  max,
  multiline = false,
  optional = false,
  error,
  placeholder,
  autoComplete = "off",
  rows = 6,
}: TextFieldProps) {
  const counterId = `${id}-count`;
  const errorId = `${id}-error`;
  const over = length > max;
  const common = {
    id,
    name: id,
    value,
    placeholder,
    autoComplete,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": error ? `${errorId} ${counterId}` : counterId,
    "aria-required": optional ? undefined : true,
    onChange: (event: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => onChange(event.target.value),
    onBlur,
  };
  return (
    <div className={`field ${error ? "field--error" : ""}`}>
      <label className="field-label" htmlFor={id}>
        {label}
        {optional && <span className="field-optional"> (optional)</span>}
      </label>
      {multiline ? <textarea {...common} rows={rows} /> : <input {...common} type="text" />}
      <div className="field-meta">
        <span className="field-error" id={errorId}>
          {error}
        </span>
        <span className={`field-count ${over ? "is-over" : ""}`} id={counterId} data-testid={`${id}-count`}>
          <span className="visually-hidden">{label}: </span>
          {length} / {max}
          <span className="visually-hidden"> characters</span>
        </span>
      </div>
    </div>
  );
}
