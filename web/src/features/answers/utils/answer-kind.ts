import type { AnswerKind } from "../types/answer";

/** The reply a design takes: the proposal is answered "yes", every other design with a heart. */
export function answerKindFor(templateId: string): AnswerKind {
  return templateId === "proposal" ? "yes" : "heart";
}
