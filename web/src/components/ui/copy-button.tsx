import { useEffect, useRef, useState } from "react";

type CopyButtonProps = {
  text: string;
  /** The input showing `text`, selected when the clipboard is out of reach. */
  inputId?: string;
  label?: string;
  testId?: string;
  className?: string;
};

/** Copies `text`; says "Copied!" for a moment, or asks for Ctrl+C when copying is not allowed. */
export function CopyButton({ text, inputId, label = "Copy", testId, className = "button" }: CopyButtonProps) {
  const [state, setState] = useState<"idle" | "copied" | "manual">("idle");
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);

  const copy = async () => {
    window.clearTimeout(timer.current);
    try {
      await navigator.clipboard.writeText(text);
      setState("copied");
    } catch {
      const input = inputId ? document.getElementById(inputId) : null;
      if (input instanceof HTMLInputElement) {
        input.focus();
        input.select();
      }
      setState("manual");
    }
    timer.current = window.setTimeout(() => setState("idle"), 2500);
  };

  return (
    <button type="button" className={className} onClick={copy} data-testid={testId} data-state={state}>
      <span aria-live="polite">{state === "copied" ? "Copied!" : state === "manual" ? "Press Ctrl+C" : label}</span>
    </button>
  );
}
