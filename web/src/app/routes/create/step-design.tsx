import type { RefObject } from "react";

import { Notice } from "@/components/ui/notice";
import { TemplatePicker } from "@/features/templates/components/template-picker";

type StepDesignProps = {
  headingRef: RefObject<HTMLHeadingElement | null>;
  templateId: string;
  onChange: (id: string) => void;
  onNext: () => void;
  error: string | null;
};

/** Step 1: one of the eight designs. */
export function StepDesign({ headingRef, templateId, onChange, onNext, error }: StepDesignProps) {
  return (
    <div className="step" data-testid="step-1">
      <h2 className="step-title" ref={headingRef} tabIndex={-1}>
        Choose a design
      </h2>
      <p className="step-lead">Four classic cards, and four that play a little game before the message shows.</p>
      {error && <Notice tone="error">{error}</Notice>}
      <TemplatePicker value={templateId} onChange={onChange} />
      <div className="step-actions">
        <button type="button" className="button button--primary" onClick={onNext} data-testid="next-step">
          Next: your words
        </button>
      </div>
    </div>
  );
}
