import type { CSSProperties } from "react";

import { Notice } from "@/components/ui/notice";
import { designFor, FONT_SCALE, FONT_STACKS, type TemplateId } from "@/config/designs";
import { errorMessage } from "@/lib/api-client";

import { useTemplates } from "../hooks/use-templates";
import type { Template } from "../types/template";

type TemplatePickerProps = {
  value: string;
  onChange: (id: string) => void;
  /** The radio group's name, unique on the page. */
  name?: string;
  legend?: string;
};

const TEMPLATE_COUNT = 8;

/** The designs as cards in their own colours and lettering; one of them is chosen. */
export function TemplatePicker({
  value,
  onChange,
  name = "template",
  legend = "Choose a design",
}: TemplatePickerProps) {
  const templates = useTemplates();

  if (templates.state === "failed") {
    return (
      <Notice tone="error" title="We couldn't load the designs" testId="templates-error">
        <p>{errorMessage(templates.error)}</p>
        <button type="button" className="button" onClick={templates.retry}>
          Try again
        </button>
      </Notice>
    );
  }

  return (
    <fieldset className="template-grid" aria-busy={templates.state === "loading"}>
      <legend className="visually-hidden">{legend}</legend>
      {templates.state === "loading"
        ? Array.from({ length: TEMPLATE_COUNT }, (_, i) => (
            <span key={i} className="template-option template-option--skeleton" aria-hidden="true" />
          ))
        : templates.templates.map((template) => (
            <TemplateOption
              key={template.id}
              template={template}
              name={name}
              checked={template.id === value}
              onSelect={() => onChange(template.id)}
            />
          ))}
    </fieldset>
  );
}

function TemplateOption({
  template,
  name,
  checked,
  onSelect,
}: {
  template: Template;
  name: string;
  checked: boolean;
  onSelect: () => void;
}) {
  const design = designFor(template.id);
  const style = {
    "--primary": template.primary_color,
    "--secondary": template.secondary_color,
    "--design-font": FONT_STACKS[design.font],
    "--design-font-scale": FONT_SCALE[design.font],
  } as CSSProperties;
  return (
    <label
      className={`template-option ${checked ? "is-checked" : ""}`}
      style={style}
      data-testid={`template-option-${template.id}`}
    >
      <input
        type="radio"
        className="visually-hidden"
        name={name}
        value={template.id}
        checked={checked}
        onChange={onSelect}
      />
      <span className="template-swatch" aria-hidden="true">
        <Motif id={design.id} />
      </span>
      <span className="template-text">
        <span className="template-name">{template.name}</span>
        <span className="template-description">{template.description}</span>
      </span>
      {template.interactive && <span className="badge">Interactive</span>}
      <span className="template-check" aria-hidden="true">
        ✓
      </span>
    </label>
  );
}

/** A tiny picture of what the design does. */
function Motif({ id }: { id: TemplateId }) {
  switch (id) {
    case "proposal":
      return (
        <span className="motif motif--proposal">
          <span>Yes</span>
          <span>No</span>
        </span>
      );
    case "envelope":
      return <span className="motif motif--envelope">✉</span>;
    case "scratch":
      return <span className="motif motif--scratch">♥ ♥ ♥</span>;
    case "countdown":
      return <span className="motif motif--countdown">10</span>;
    default:
      return <span className="motif motif--heart">♥</span>;
  }
}
