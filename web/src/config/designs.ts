/**
 * How each template looks. Names, descriptions and the list itself come from the API
 * (`GET /api/templates`); this local copy holds only what styling needs per id, so a
 * design renders at once, before or without that answer.
 */

export const TEMPLATE_IDS = [
  "classic",
  "modern",
  "playful",
  "elegant",
  "proposal",
  "envelope",
  "scratch",
  "countdown",
] as const;

export type TemplateId = (typeof TEMPLATE_IDS)[number];

export type FontName = "Pacifico" | "Nunito" | "Caveat";

export type DesignStyle = {
  id: TemplateId;
  primary: string;
  secondary: string;
  /** The lettering of titles and names. */
  font: FontName;
  interactive: boolean;
};

export const DESIGNS: Record<TemplateId, DesignStyle> = {
  classic: { id: "classic", primary: "#e91e63", secondary: "#fce4ec", font: "Pacifico", interactive: false },
  modern: { id: "modern", primary: "#9c27b0", secondary: "#f3e5f5", font: "Nunito", interactive: false },
  playful: { id: "playful", primary: "#f44336", secondary: "#ffebee", font: "Caveat", interactive: false },
  elegant: { id: "elegant", primary: "#880e4f", secondary: "#fce4ec", font: "Pacifico", interactive: false },
  proposal: { id: "proposal", primary: "#ec4899", secondary: "#fdf2f8", font: "Pacifico", interactive: true },
  envelope: { id: "envelope", primary: "#be185d", secondary: "#fff1f2", font: "Caveat", interactive: true },
  scratch: { id: "scratch", primary: "#db2777", secondary: "#fce7f3", font: "Nunito", interactive: true },
  countdown: { id: "countdown", primary: "#e11d48", secondary: "#ffe4e6", font: "Pacifico", interactive: true },
};

export function isTemplateId(id: string): id is TemplateId {
  return (TEMPLATE_IDS as readonly string[]).includes(id);
}

/** The style of `id`; an id this build does not know yet looks like `classic`. */
export function designFor(id: string): DesignStyle {
  return isTemplateId(id) ? DESIGNS[id] : DESIGNS.classic;
}

/** CSS font stacks, each with a metric-matched fallback (see `src/styles/fonts.css`). */
export const FONT_STACKS: Record<FontName, string> = {
  Pacifico: '"Pacifico", "Pacifico Fallback", cursive',
  Nunito: '"Nunito", "Nunito Fallback", system-ui, sans-serif',
  Caveat: '"Caveat", "Caveat Fallback", cursive',
};

/** Caveat runs small: this evens out the three fonts at one nominal size. */
export const FONT_SCALE: Record<FontName, number> = { Pacifico: 1, Nunito: 1, Caveat: 1.3 };

/** What the reveal of an interactive design asks of its visitor, for hints and badges. */
export const INTERACTION_HINTS: Partial<Record<TemplateId, string>> = {
  proposal: "Visitors answer Yes or No (good luck catching No)",
  envelope: "Visitors open an envelope to read the letter",
  scratch: "Visitors scratch a card to reveal the message",
  countdown: "Visitors watch a 10-second countdown before the reveal",
};
