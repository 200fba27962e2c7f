import { useState } from "react";

import { Notice } from "@/components/ui/notice";
import { ApiError, errorMessage } from "@/lib/api-client";

import { deletePhoto } from "../api/delete-photo";
import { updatePage, type PageChanges } from "../api/update-page";
import { uploadPhoto } from "../api/upload-photo";
import type { Page } from "../types/page";
import { pinProblem } from "../utils/page-pin";
import { photoRefusal } from "../utils/photo-rules";
import {
  describeRevealTime,
  hasRevealed,
  localInputToRfc3339,
  revealTimeProblem,
  rfc3339ToLocalInput,
} from "../utils/reveal-time";
import { SERVICE_NAMES, songLinkProblem } from "../utils/song-link";
import { PagePhoto, photoAlt } from "./page-photo";
import { PhotoPicker, PinField, RevealField, SongField } from "./moment-fields";

type MomentsEditorProps = {
  page: Page;
  token: string;
  /** The page as the API answered a change. */
  onSaved: (page: Page) => void;
  onTokenRejected: () => void;
};

type Said = { tone: "success" | "error"; text: string } | null;

/** Whether the token was refused: the editor then offers another edit link. */
function tokenRefused(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 401 || error.status === 403);
}

/**
 * The page's photo, song, opening time and PIN, each changed on its own. The PIN is never
 * shown, only whether there is one; an opening time that has passed can no longer change.
 */
export function MomentsEditor({ page, token, onSaved, onTokenRejected }: MomentsEditorProps) {
  const [photo, setPhoto] = useState<File | null>(null);
  const [song, setSong] = useState(page.song?.url ?? "");
  const [revealAt, setRevealAt] = useState(rfc3339ToLocalInput(page.reveal_at));
  const [pin, setPin] = useState("");
  const [busy, setBusy] = useState<string | null>(null);
  const [said, setSaid] = useState<Record<string, Said>>({});
  const [errors, setErrors] = useState<Record<string, string | null>>({});
  const revealed = page.reveal_at !== null && hasRevealed(page.reveal_at);

  const run = async (what: string, action: () => Promise<Page>, done: string) => {
    setBusy(what);
    setSaid((s) => ({ ...s, [what]: null }));
    setErrors((e) => ({ ...e, [what]: null }));
    try {
      const saved = await action();
      onSaved(saved);
      setSaid((s) => ({ ...s, [what]: { tone: "success", text: done } }));
      return true;
    } catch (error) {
      if (tokenRefused(error)) {
        onTokenRejected();
      } else if (error instanceof ApiError && error.code === "already_revealed") {
        setSaid((s) => ({
          ...s,
          [what]: { tone: "error", text: "The page has already opened, so its opening time can't change any more." },
        }));
      } else if (error instanceof ApiError && error.status === 422 && error.errors.length > 0) {
        setErrors((e) => ({ ...e, [what]: error.errors[0]!.message }));
      } else if (what === "photo" && error instanceof ApiError) {
        setErrors((e) => ({ ...e, photo: photoRefusal(error.code, errorMessage(error)) }));
      } else {
        setSaid((s) => ({ ...s, [what]: { tone: "error", text: errorMessage(error) } }));
      }
      return false;
    } finally {
      setBusy(null);
    }
  };

  const patch = (what: string, changes: PageChanges, done: string) =>
    run(what, () => updatePage(page.slug, changes, token), done);

  const feedback = (what: string) => {
    const s = said[what];
    return s ? (
      <Notice tone={s.tone} testId={`${what}-feedback`}>
        {s.text}
      </Notice>
    ) : null;
  };

  return (
    <div className="moments-editor" data-testid="moments-editor">
      <section className="moment" aria-labelledby="moment-photo-heading" data-testid="edit-photo">
        <h3 id="moment-photo-heading" className="moment-title">
          Photo
        </h3>
        {page.photo ? (
          <div className="moment-current">
            <PagePhoto photo={page.photo} alt={photoAlt(page.recipient_name, page.sender_name)} editToken={token} />
            <button
              type="button"
              className="button button--ghost button--small"
              disabled={busy !== null}
              onClick={() => void run("photo", () => deletePhoto(page.slug, token), "The photo is removed.")}
              data-testid="remove-photo"
            >
              Remove photo
            </button>
          </div>
        ) : (
          <p className="muted">No photo yet.</p>
        )}
        <PhotoPicker
          id="edit-photo"
          label={page.photo ? "Replace it with" : "Add a picture"}
          photo={photo}
          onChange={setPhoto}
          error={errors.photo}
        />
        {photo && (
          <button
            type="button"
            className="button button--primary button--small"
            disabled={busy !== null}
            onClick={async () => {
              if (await run("photo", () => uploadPhoto(page.slug, photo, token), "The photo is on the page.")) {
                setPhoto(null);
              }
            }}
            data-testid="upload-photo"
          >
            {busy === "photo" ? "Uploading…" : page.photo ? "Replace photo" : "Add photo"}
          </button>
        )}
        {feedback("photo")}
      </section>

      <section className="moment" aria-labelledby="moment-song-heading" data-testid="edit-song">
        <h3 id="moment-song-heading" className="moment-title">
          Song
        </h3>
        {page.song && <p className="muted">Now: a {SERVICE_NAMES[page.song.service]} link.</p>}
        <SongField id="edit-song-url" value={song} onChange={setSong} error={errors.song} />
        <div className="button-row">
          <button
            type="button"
            className="button button--primary button--small"
            disabled={busy !== null || song.trim() === "" || song.trim() === page.song?.url}
            onClick={() => {
              const problem = songLinkProblem(song);
              if (problem) return setErrors((e) => ({ ...e, song: problem }));
              void patch("song", { song_url: song.trim() }, "The song is saved.");
            }}
            data-testid="save-song"
          >
            Save song
          </button>
          {page.song && (
            <button
              type="button"
              className="button button--ghost button--small"
              disabled={busy !== null}
              onClick={async () => {
                if (await patch("song", { song_url: null }, "The song is removed.")) setSong("");
              }}
              data-testid="remove-song"
            >
              Remove song
            </button>
          )}
        </div>
        {feedback("song")}
      </section>

      <section className="moment" aria-labelledby="moment-reveal-heading" data-testid="edit-reveal">
        <h3 id="moment-reveal-heading" className="moment-title">
          Opening time
        </h3>
        {revealed ? (
          <p data-testid="reveal-passed">
            It opened on {describeRevealTime(page.reveal_at!)}. Once a page has opened, its opening time stays as it
            was.
          </p>
        ) : (
          <>
            {page.reveal_at && (
              <p className="muted" data-testid="reveal-current">
                Opens on {describeRevealTime(page.reveal_at)}.
              </p>
            )}
            <RevealField id="edit-reveal-at" value={revealAt} onChange={setRevealAt} error={errors.reveal} />
            <div className="button-row">
              <button
                type="button"
                className="button button--primary button--small"
                disabled={busy !== null || revealAt === "" || revealAt === rfc3339ToLocalInput(page.reveal_at)}
                onClick={() => {
                  const problem = revealTimeProblem(revealAt);
                  const at = localInputToRfc3339(revealAt);
                  if (problem || !at)
                    return setErrors((e) => ({ ...e, reveal: problem ?? "Choose a date and a time" }));
                  void patch("reveal", { reveal_at: at }, "The opening time is saved.");
                }}
                data-testid="save-reveal"
              >
                Save opening time
              </button>
              {page.reveal_at && (
                <button
                  type="button"
                  className="button button--ghost button--small"
                  disabled={busy !== null}
                  onClick={async () => {
                    if (await patch("reveal", { reveal_at: null }, "The page is open to visitors now."))
                      setRevealAt("");
                  }}
                  data-testid="remove-reveal"
                >
                  Open it now
                </button>
              )}
            </div>
          </>
        )}
        {feedback("reveal")}
      </section>

      <section className="moment" aria-labelledby="moment-pin-heading" data-testid="edit-pin">
        <h3 id="moment-pin-heading" className="moment-title">
          PIN
        </h3>
        <p className="muted" data-testid="pin-status">
          {page.has_pin
            ? "This page has a PIN. It is never shown again, here or anywhere; you can set a new one."
            : "Anyone with the link can open this page."}
        </p>
        <PinField
          id="edit-pin"
          label={page.has_pin ? "New PIN or passphrase" : "PIN or passphrase"}
          value={pin}
          onChange={setPin}
          error={errors.pin}
        />
        <div className="button-row">
          <button
            type="button"
            className="button button--primary button--small"
            disabled={busy !== null || pin === ""}
            onClick={async () => {
              const problem = pinProblem(pin);
              if (problem) return setErrors((e) => ({ ...e, pin: problem }));
              if (await patch("pin", { pin }, "The PIN is saved. Remember to send it to your recipient.")) setPin("");
            }}
            data-testid="save-pin"
          >
            {page.has_pin ? "Change PIN" : "Set PIN"}
          </button>
          {page.has_pin && (
            <button
              type="button"
              className="button button--ghost button--small"
              disabled={busy !== null}
              onClick={() => void patch("pin", { pin: null }, "The PIN is removed: the link alone opens the page.")}
              data-testid="remove-pin"
            >
              Remove PIN
            </button>
          )}
        </div>
        {feedback("pin")}
      </section>
    </div>
  );
}
