import { useEffect, useId, useState, type ReactNode } from "react";

import { PHOTO_ACCEPT, photoProblem } from "../utils/photo-rules";
import { PIN_MAX } from "../utils/page-pin";
import { revealInputBounds } from "../utils/reveal-time";
import { recogniseSong, SERVICE_NAMES, songLinkProblem } from "../utils/song-link";

/** A labelled field with a hint and an error under it. */
function Field({
  id,
  label,
  hint,
  error,
  children,
  testId,
}: {
  id: string;
  label: string;
  hint?: ReactNode;
  error?: string | null;
  children: ReactNode;
  testId?: string;
}) {
  return (
    <div className={`field ${error ? "field--error" : ""}`} data-testid={testId}>
      <label className="field-label" htmlFor={id}>
        {label}
        <span className="field-optional"> (optional)</span>
      </label>
      {hint && (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {children}
      <div className="field-meta">
        <span className="field-error" id={`${id}-error`} role={error ? "alert" : undefined}>
          {error}
        </span>
      </div>
    </div>
  );
}

const describedBy = (id: string, error: string | null | undefined, hint = true) =>
  [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(" ") || undefined;

type PhotoPickerProps = {
  id?: string;
  photo: File | null;
  onChange: (photo: File | null) => void;
  /** A refusal from the server, shown until another photo is chosen. */
  error?: string | null;
  label?: string;
};

/** Choose a photo: checked here for type and size, with a thumbnail before anything is sent. */
export function PhotoPicker({
  id = "photo",
  photo,
  onChange,
  error,
  label = "A picture of you two",
}: PhotoPickerProps) {
  const [problem, setProblem] = useState<string | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const inputId = useId();

  useEffect(() => {
    if (!photo) {
      setPreview(null);
      return;
    }
    const url = URL.createObjectURL(photo);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [photo]);

  const shown = problem ?? error ?? null;
  return (
    <Field
      id={id}
      label={label}
      hint="JPEG, PNG, WebP or GIF, up to 8 MB. We remove its hidden details (such as where it was taken)."
      error={shown}
      testId="photo-field"
    >
      <div className="photo-picker">
        {preview && <img className="photo-thumb" src={preview} alt="The picture you chose" data-testid="photo-thumb" />}
        <input
          id={id}
          key={inputId + (photo ? photo.name : "")}
          type="file"
          accept={PHOTO_ACCEPT}
          className="photo-input"
          aria-invalid={shown ? true : undefined}
          aria-describedby={describedBy(id, shown)}
          data-testid="photo-input"
          onChange={(event) => {
            const file = event.target.files?.[0] ?? null;
            if (!file) return;
            const why = photoProblem(file);
            setProblem(why);
            onChange(why ? null : file);
            if (why) event.target.value = "";
          }}
        />
        {photo && (
          <button
            type="button"
            className="button button--ghost button--small"
            onClick={() => {
              setProblem(null);
              onChange(null);
            }}
            data-testid="photo-clear"
          >
            Remove photo
          </button>
        )}
      </div>
    </Field>
  );
}

type SongFieldProps = {
  id?: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | null;
};

/** A song link, checked as it is typed, saying which service it recognises. */
export function SongField({ id = "song-url", value, onChange, error }: SongFieldProps) {
  const [touched, setTouched] = useState(false);
  const song = recogniseSong(value);
  const problem = songLinkProblem(value);
  const shown = error ?? (touched || value.length > 12 ? problem : null);
  return (
    <Field
      id={id}
      label="Our song"
      hint="A link to a song, album or playlist on Spotify, YouTube, Apple Music or SoundCloud."
      error={shown}
      testId="song-field"
    >
      <input
        id={id}
        type="url"
        inputMode="url"
        autoComplete="off"
        spellCheck={false}
        placeholder="https://open.spotify.com/track/…"
        value={value}
        onChange={(event) => onChange(event.target.value)}
        onBlur={() => setTouched(true)}
        aria-invalid={shown ? true : undefined}
        aria-describedby={[describedBy(id, shown), `${id}-service`].filter(Boolean).join(" ")}
        data-testid="song-input"
      />
      <p className="song-recognised" id={`${id}-service`} aria-live="polite" data-testid="song-service">
        {song ? `✓ ${SERVICE_NAMES[song.service]} link` : ""}
      </p>
    </Field>
  );
}

type RevealFieldProps = {
  id?: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | null;
  disabled?: boolean;
  hint?: ReactNode;
};

/** When the page opens: a local date and time, from the next minute to a year ahead. */
export function RevealField({ id = "reveal-at", value, onChange, error, disabled = false, hint }: RevealFieldProps) {
  const [bounds] = useState(() => revealInputBounds());
  return (
    <Field
      id={id}
      label="Opens at"
      hint={
        hint ??
        "Until then, visitors see a countdown and nothing of your words, photo or song. Leave it empty to open it at once."
      }
      error={error}
      testId="reveal-field"
    >
      <input
        id={id}
        type="datetime-local"
        value={value}
        min={bounds.min}
        max={bounds.max}
        disabled={disabled}
        onChange={(event) => onChange(event.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(id, error)}
        data-testid="reveal-input"
      />
    </Field>
  );
}

type PinFieldProps = {
  id?: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | null;
  label?: string;
  hint?: ReactNode;
};

/** A PIN or passphrase for the page, hidden unless asked to show. */
export function PinField({ id = "pin", value, onChange, error, label = "PIN or passphrase", hint }: PinFieldProps) {
  const [shown, setShown] = useState(false);
  return (
    <Field
      id={id}
      label={label}
      hint={
        hint ??
        "4 to 64 characters. Your recipient will need it to open the page, so send it to them separately, not with the link."
      }
      error={error}
      testId="pin-field"
    >
      <div className="pin-row">
        <input
          id={id}
          type={shown ? "text" : "password"}
          autoComplete="new-password"
          autoCapitalize="off"
          spellCheck={false}
          maxLength={PIN_MAX * 2}
          value={value}
          onChange={(event) => onChange(event.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy(id, error)}
          data-testid="pin-new"
        />
        <button
          type="button"
          className="button button--ghost button--small"
          onClick={() => setShown((s) => !s)}
          aria-pressed={shown}
          aria-controls={id}
          data-testid="pin-new-show"
        >
          {shown ? "Hide" : "Show"}
        </button>
      </div>
    </Field>
  );
}
