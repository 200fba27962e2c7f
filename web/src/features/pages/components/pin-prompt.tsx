import { useEffect, useRef, useState, type CSSProperties } from "react";

import { designFor, FONT_STACKS } from "@/config/designs";
import { describeWait } from "@/lib/api-client";

import type { PinProblem } from "../hooks/use-page-reading";
import { PIN_MAX } from "../utils/page-pin";

type PinPromptProps = {
  problem: PinProblem;
  checking: boolean;
  onSubmit: (pin: string) => void;
};

const clock = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });

/**
 * A page behind a PIN: nothing of the page, only a field for the PIN its sender gave
 * separately. Says plainly when a PIN is wrong, and when too many tries ask for a pause.
 */
export function PinPrompt({ problem, checking, onSubmit }: PinPromptProps) {
  const [pin, setPin] = useState("");
  const [shown, setShown] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  // The page's design is part of what the PIN protects: the prompt wears the house colours.
  const style = designFor("classic");
  const cssVars = {
    "--primary": style.primary,
    "--secondary": style.secondary,
    "--design-font": FONT_STACKS[style.font],
  } as CSSProperties;

  useEffect(() => {
    if (problem?.kind === "wrong") {
      setPin("");
      inputRef.current?.focus();
    }
  }, [problem]);

  const waitSeconds =
    problem?.kind === "wait" && problem.until !== null ? Math.ceil((problem.until - Date.now()) / 1000) : null;

  return (
    <article className="design design--classic design--page pin-page" style={cssVars} data-testid="pin-prompt">
      <div className="design-card pin-card">
        <p className="design-ornament" aria-hidden="true">
          ♥
        </p>
        <h1 className="design-title">This page is private</h1>
        <p className="pin-lead">Enter the PIN you were given to open it.</p>
        <form
          className="pin-form"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            if (pin !== "" && !checking) onSubmit(pin);
          }}
        >
          <label className="field-label" htmlFor="page-pin">
            PIN
          </label>
          <div className="pin-row">
            <input
              ref={inputRef}
              id="page-pin"
              name="page-pin"
              type={shown ? "text" : "password"}
              autoComplete="off"
              autoCapitalize="off"
              spellCheck={false}
              maxLength={PIN_MAX * 2}
              value={pin}
              onChange={(event) => setPin(event.target.value)}
              aria-invalid={problem?.kind === "wrong" ? true : undefined}
              aria-describedby="page-pin-problem"
              data-testid="pin-input"
              autoFocus
            />
            <button
              type="button"
              className="button button--ghost button--small"
              onClick={() => setShown((s) => !s)}
              aria-pressed={shown}
              data-testid="pin-show"
            >
              {shown ? "Hide" : "Show"}
            </button>
          </div>
          <p id="page-pin-problem" className="pin-problem" role="alert" data-testid="pin-problem">
            {problem?.kind === "wrong" && "That PIN isn't right. Check it with the person who sent you the link."}
            {problem?.kind === "wait" &&
              (waitSeconds !== null && waitSeconds > 0 && problem.until !== null
                ? `That was a few too many tries. Take a breath and try again in ${describeWait(waitSeconds)} (at ${clock.format(new Date(problem.until))}).`
                : "That was a few too many tries. Take a breath and try again in a little while.")}
          </p>
          <button
            type="submit"
            className="button button--primary"
            disabled={pin === "" || checking}
            data-testid="pin-submit"
          >
            {checking ? "Checking…" : "Open the page"}
          </button>
        </form>
      </div>
    </article>
  );
}
