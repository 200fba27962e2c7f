import { TextField } from "@/components/ui/text-field";

import type { PageContent } from "../types/page";
import { FIELD_LABELS, fieldLength, LIMITS, type ContentErrors, type TextField as Field } from "../utils/content-rules";

type ContentFieldsProps = {
  content: PageContent;
  onChange: (changes: Partial<PageContent>) => void;
  /** Errors to show now (the caller decides when a field has earned one). */
  errors: ContentErrors;
  onBlur?: (field: Field) => void;
  /** Prefix of the inputs' ids, unique on the page. */
  idPrefix?: string;
};

/** Title, message and the two names, each with its counter and inline error. */
export function ContentFields({ content, onChange, errors, onBlur, idPrefix = "" }: ContentFieldsProps) {
  const field = (
    name: Field,
    extra: { multiline?: boolean; optional?: boolean; placeholder: string; autoComplete?: string },
  ) => (
    <TextField
      id={`${idPrefix}${name}`}
      label={FIELD_LABELS[name]}
      value={content[name]}
      onChange={(value) => onChange({ [name]: value })}
      onBlur={() => onBlur?.(name)}
      length={fieldLength(content[name])}
      max={LIMITS[name]}
      error={errors[name]}
      {...extra}
    />
  );
  return (
    <div className="content-fields">
      {field("title", { placeholder: "Will you be my Valentine?" })}
      {field("message", { multiline: true, placeholder: "Every day with you is my favourite day…" })}
      <div className="field-pair">
        {field("recipient_name", { optional: true, placeholder: "Alice" })}
        {field("sender_name", { optional: true, placeholder: "Bob", autoComplete: "given-name" })}
      </div>
    </div>
  );
}
