import { useEffect, useRef, useState } from "react";
import { useSearchParams } from "react-router";

import { AppShell } from "@/components/layout/app-shell";
import { Sparkles } from "@/components/effects/sparkles";
import { createPage } from "@/features/pages/api/create-page";
import { JobFailedError, JobTimeoutError, waitForJob, type JobStatus } from "@/features/pages/api/get-job";
import type { PageContent } from "@/features/pages/types/page";
import { rememberToken } from "@/features/pages/utils/edit-token";
import {
  fieldErrorsFrom,
  hasErrors,
  notifyEmailProblem,
  toCreateInput,
  validateContent,
  type ContentErrors,
  type TextField,
} from "@/features/pages/utils/content-rules";
import { pinProblem } from "@/features/pages/utils/page-pin";
import { localInputToRfc3339, revealTimeProblem } from "@/features/pages/utils/reveal-time";
import { songLinkProblem } from "@/features/pages/utils/song-link";
import { ApiError, errorMessage } from "@/lib/api-client";
import { IdempotencyKeys } from "@/lib/idempotency";
import { isAbortError } from "@/lib/sleep";
import { useDocumentTitle } from "@/lib/use-document-title";

import { Created } from "./created";
import { StepAddress } from "./step-address";
import { StepDesign } from "./step-design";
import { StepWords } from "./step-words";
import { EMPTY_DRAFT, useDraft, type Draft } from "./use-draft";
import { MakeItSpecial } from "./make-it-special";
import { Waiting } from "./waiting";

export type Step = Draft["step"];

type Phase =
  | { kind: "editing" }
  | { kind: "creating" }
  | { kind: "waiting"; slug: string; editToken: string; status: JobStatus }
  | { kind: "done"; slug: string; editToken: string; live: boolean; photo: File | null };

/** What the "Make it special" fields got wrong, here or at the API. */
type MomentErrors = Partial<Record<"song_url" | "reveal_at" | "pin", string>>;

const STEP_NAMES: Record<Step, string> = { 1: "Design", 2: "Words", 3: "Address" };

/** `/`: make a page in three steps: design, words, address. */
export function CreateRoute() {
  const [params] = useSearchParams();
  const { draft, setDraft, clear } = useDraft(params.get("slug"));
  const [phase, setPhase] = useState<Phase>({ kind: "editing" });
  const [touched, setTouched] = useState<Partial<Record<TextField, boolean>>>({});
  const [showAllErrors, setShowAllErrors] = useState(false);
  const [serverErrors, setServerErrors] = useState<ContentErrors>({});
  const [submitError, setSubmitError] = useState<string | null>(null);
  const [slugConflict, setSlugConflict] = useState<{ slug: string; reason: string } | null>(null);
  const [notifyEmailError, setNotifyEmailError] = useState<string | null>(null);
  // Never kept in the draft: a file cannot be, and a PIN should not be.
  const [photo, setPhoto] = useState<File | null>(null);
  const [pin, setPin] = useState("");
  const [momentErrors, setMomentErrors] = useState<MomentErrors>({});
  const [specialOpen, setSpecialOpen] = useState(() => draft.song !== "" || draft.revealAt !== "");
  const keys = useRef(new IdempotencyKeys());
  const inFlight = useRef<AbortController | null>(null);
  const headingRef = useRef<HTMLHeadingElement>(null);
  const stepChanged = useRef(false);

  useDocumentTitle(phase.kind === "done" ? "Your page is ready" : "Make a valentine");
  useEffect(() => () => inFlight.current?.abort(), []);

  // Move focus to the new step's heading, so keyboard and screen reader users follow along.
  useEffect(() => {
    if (stepChanged.current) headingRef.current?.focus();
  }, [draft.step]);

  const { step, content, slug, notifyEmail, song, revealAt } = draft;
  const localErrors = validateContent(content);
  const visibleErrors: ContentErrors = {};
  for (const field of Object.keys(localErrors) as TextField[]) {
    if (showAllErrors || touched[field]) visibleErrors[field] = localErrors[field];
  }
  for (const field of Object.keys(serverErrors) as TextField[]) {
    visibleErrors[field] ??= serverErrors[field];
  }

  const goTo = (next: Step) => {
    stepChanged.current = true;
    setDraft((d) => ({ ...d, step: next }));
  };

  /** Moves between steps at the author's request: an old error belongs to where it happened. */
  const move = (next: Step) => {
    setSubmitError(null);
    goTo(next);
  };

  const updateContent = (changes: Partial<PageContent>) => {
    setDraft((d) => ({ ...d, content: { ...d.content, ...changes } }));
    setServerErrors((errors) => {
      const next = { ...errors };
      for (const field of Object.keys(changes)) delete next[field as TextField];
      return next;
    });
  };

  const wordsDone = () => {
    if (hasErrors(localErrors)) {
      setShowAllErrors(true);
      const first = (["title", "message", "recipient_name", "sender_name"] as const).find((f) => localErrors[f]);
      if (first) document.getElementById(first)?.focus();
      return;
    }
    const moments = momentProblems();
    if (Object.keys(moments).length > 0) {
      setMomentErrors(moments);
      setSpecialOpen(true);
      return;
    }
    move(3);
  };

  /** What is wrong with the "Make it special" fields now. */
  const momentProblems = (): MomentErrors => {
    const problems: MomentErrors = {};
    const songProblem = songLinkProblem(song);
    const revealProblem = revealTimeProblem(revealAt);
    const badPin = pin === "" ? null : pinProblem(pin);
    if (songProblem) problems.song_url = songProblem;
    if (revealProblem) problems.reveal_at = revealProblem;
    if (badPin) problems.pin = badPin;
    return problems;
  };

  const finish = (finalSlug: string, editToken: string, live: boolean) => {
    keys.current.reset();
    clear();
    setPhase({ kind: "done", slug: finalSlug, editToken, live, photo });
  };

  const failed = (error: unknown) => {
    if (error instanceof JobFailedError) {
      setSubmitError(error.message);
      return;
    }
    if (!(error instanceof ApiError)) {
      setSubmitError(errorMessage(error));
      return;
    }
    if (error.status === 409) {
      setSlugConflict({ slug, reason: error.detail });
      goTo(3);
      return;
    }
    if (error.status === 422 && error.errors.length > 0) {
      const fields = fieldErrorsFrom(error.errors);
      const slugError = error.errors.find((e) => e.field === "slug");
      const templateError = error.errors.find((e) => e.field === "template_id");
      const emailError = error.errors.find((e) => e.field === "notify_email");
      const moments: MomentErrors = {};
      for (const e of error.errors) {
        if (e.field === "song_url" || e.field === "reveal_at" || e.field === "pin") moments[e.field] ??= e.message;
      }
      if (hasErrors(fields)) {
        setServerErrors(fields);
        setSubmitError("Please fix the highlighted fields.");
        goTo(2);
      } else if (Object.keys(moments).length > 0) {
        setMomentErrors(moments);
        setSpecialOpen(true);
        setSubmitError("Please check the highlighted fields under “Make it special”.");
        goTo(2);
      } else if (templateError) {
        setSubmitError(templateError.message);
        goTo(1);
      } else if (emailError) {
        setNotifyEmailError(emailError.message);
        goTo(3);
      } else if (slugError) {
        setSlugConflict({ slug, reason: slugError.message });
      } else {
        setSubmitError(error.detail);
      }
      return;
    }
    setSubmitError(errorMessage(error));
  };

  const submit = async () => {
    if (phase.kind === "creating" || phase.kind === "waiting") return;
    if (hasErrors(localErrors)) {
      setShowAllErrors(true);
      goTo(2);
      return;
    }
    const emailProblem = notifyEmailProblem(notifyEmail);
    if (emailProblem) {
      setNotifyEmailError(emailProblem);
      document.getElementById("notify-email")?.focus();
      return;
    }
    const moments = momentProblems();
    if (Object.keys(moments).length > 0) {
      setMomentErrors(moments);
      setSpecialOpen(true);
      setSubmitError("Please check the highlighted fields under “Make it special”.");
      goTo(2);
      return;
    }
    setSubmitError(null);
    setSlugConflict(null);
    const input = toCreateInput(content, slug, notifyEmail);
    if (song.trim() !== "") input.song_url = song.trim();
    const opensAt = localInputToRfc3339(revealAt);
    if (opensAt) input.reveal_at = opensAt;
    if (pin !== "") input.pin = pin;
    const idempotencyKey = keys.current.keyFor(JSON.stringify(input));
    const controller = new AbortController();
    inFlight.current = controller;
    setPhase({ kind: "creating" });
    try {
      const outcome = await createPage(input, { idempotencyKey, signal: controller.signal });
      rememberToken(slug, outcome.editToken);
      if (outcome.kind === "created") {
        finish(outcome.page.slug, outcome.editToken, true);
        return;
      }
      setPhase({ kind: "waiting", slug, editToken: outcome.editToken, status: "queued" });
      try {
        const result = await waitForJob(outcome.jobId, {
          signal: controller.signal,
          onStatus: (status) => setPhase((p) => (p.kind === "waiting" ? { ...p, status } : p)),
        });
        finish(result.page.slug, outcome.editToken, true);
      } catch (error) {
        if (error instanceof JobTimeoutError) {
          finish(slug, outcome.editToken, false);
          return;
        }
        throw error;
      }
    } catch (error) {
      if (isAbortError(error)) return;
      setPhase({ kind: "editing" });
      failed(error);
    }
  };

  const startOver = () => {
    stepChanged.current = false;
    setDraft(EMPTY_DRAFT);
    setTouched({});
    setShowAllErrors(false);
    setServerErrors({});
    setSubmitError(null);
    setSlugConflict(null);
    setNotifyEmailError(null);
    setPhoto(null);
    setPin("");
    setMomentErrors({});
    setSpecialOpen(false);
    setPhase({ kind: "editing" });
  };

  if (phase.kind === "done") {
    return (
      <AppShell>
        <Created
          slug={phase.slug}
          editToken={phase.editToken}
          live={phase.live}
          photo={phase.photo}
          onStartOver={startOver}
        />
      </AppShell>
    );
  }
  if (phase.kind === "waiting") {
    return (
      <AppShell>
        <Waiting status={phase.status} />
      </AppShell>
    );
  }

  return (
    <AppShell>
      <section className="creator" data-testid="creator" data-step={step}>
        <header className="creator-intro">
          <p className="eyebrow">A little page for someone you love</p>
          <h1 className="screen-title">
            <Sparkles>Make a valentine</Sparkles>
          </h1>
        </header>
        <ol className="steps" aria-label="Steps">
          {([1, 2, 3] as const).map((n) => (
            <li
              key={n}
              className={`steps-item ${n === step ? "is-current" : ""} ${n < step ? "is-done" : ""}`}
              aria-current={n === step ? "step" : undefined}
            >
              {n < step ? (
                <button type="button" className="steps-button" onClick={() => move(n)} data-testid={`go-to-step-${n}`}>
                  <span className="steps-number" aria-hidden="true">
                    ✓
                  </span>
                  <span className="visually-hidden">Step {n}: </span>
                  {STEP_NAMES[n]}
                </button>
              ) : (
                <span className="steps-button">
                  <span className="steps-number" aria-hidden="true">
                    {n}
                  </span>
                  <span className="visually-hidden">Step {n}: </span>
                  {STEP_NAMES[n]}
                </span>
              )}
            </li>
          ))}
        </ol>

        {step === 1 && (
          <StepDesign
            headingRef={headingRef}
            templateId={content.template_id}
            onChange={(id) => updateContent({ template_id: id })}
            onNext={() => move(2)}
            error={submitError}
          />
        )}
        {step === 2 && (
          <StepWords
            headingRef={headingRef}
            content={content}
            errors={visibleErrors}
            onChange={updateContent}
            onBlur={(field) => setTouched((t) => ({ ...t, [field]: true }))}
            onBack={() => move(1)}
            onNext={wordsDone}
            error={submitError}
            extra={
              <MakeItSpecial
                open={specialOpen}
                onToggle={setSpecialOpen}
                photo={photo}
                onPhotoChange={setPhoto}
                song={song}
                onSongChange={(value) => {
                  setMomentErrors(({ song_url: _, ...rest }) => rest);
                  setDraft((d) => ({ ...d, song: value }));
                }}
                revealAt={revealAt}
                onRevealAtChange={(value) => {
                  setMomentErrors(({ reveal_at: _, ...rest }) => rest);
                  setDraft((d) => ({ ...d, revealAt: value }));
                }}
                pin={pin}
                onPinChange={(value) => {
                  setMomentErrors(({ pin: _, ...rest }) => rest);
                  setPin(value);
                }}
                errors={momentErrors}
              />
            }
          />
        )}
        {step === 3 && (
          <StepAddress
            headingRef={headingRef}
            content={content}
            slug={slug}
            onSlugChange={(value) => {
              setSlugConflict(null);
              setDraft((d) => ({ ...d, slug: value }));
            }}
            conflict={slugConflict}
            notifyEmail={notifyEmail}
            onNotifyEmailChange={(value) => {
              setNotifyEmailError(null);
              setDraft((d) => ({ ...d, notifyEmail: value }));
            }}
            notifyEmailError={notifyEmailError}
            creating={phase.kind === "creating"}
            error={submitError}
            onBack={() => move(2)}
            onCreate={submit}
          />
        )}
      </section>
    </AppShell>
  );
}
