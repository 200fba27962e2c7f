import type { ReactNode, RefObject } from "react";

import { Notice } from "@/components/ui/notice";
import { ContentFields } from "@/features/pages/components/content-fields";
import { ContentPreview } from "@/features/pages/components/content-preview";
import type { PageContent } from "@/features/pages/types/page";
import type { ContentErrors, TextField } from "@/features/pages/utils/content-rules";

type StepWordsProps = {
  headingRef: RefObject<HTMLHeadingElement | null>;
  content: PageContent;
  errors: ContentErrors;
  onChange: (changes: Partial<PageContent>) => void;
  onBlur: (field: TextField) => void;
  onBack: () => void;
  onNext: () => void;
  error: string | null;
  /** More to add under the words: the "Make it special" section. */
  extra?: ReactNode;
};

/** Step 2: title, message and names, with the page taking shape beside them. */
export function StepWords({
  headingRef,
  content,
  errors,
  onChange,
  onBlur,
  onBack,
  onNext,
  error,
  extra,
}: StepWordsProps) {
  return (
    <div className="step" data-testid="step-2">
      <h2 className="step-title" ref={headingRef} tabIndex={-1}>
        Write your message
      </h2>
      {error && <Notice tone="error">{error}</Notice>}
      <div className="compose">
        <form
          className="compose-form"
          noValidate
          onSubmit={(event) => {
            event.preventDefault();
            onNext();
          }}
        >
          <ContentFields content={content} errors={errors} onChange={onChange} onBlur={onBlur} />
          {extra}
          <div className="step-actions">
            <button type="button" className="button button--ghost" onClick={onBack} data-testid="previous-step">
              Back
            </button>
            <button type="submit" className="button button--primary" data-testid="next-step">
              Next: its address
            </button>
          </div>
        </form>
        <ContentPreview content={content} />
      </div>
    </div>
  );
}
