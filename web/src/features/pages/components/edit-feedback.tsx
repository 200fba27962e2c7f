import { Notice } from "@/components/ui/notice";

/** What a save in the editor said: done, or why not (a refused edit link among the reasons). */
export type EditFeedback = { tone: "success" | "error"; text: string; tokenProblem?: boolean } | null;

/** The feedback of a save in the editor, offering another edit link when the token was refused. */
export function EditFeedbackNotice({
  feedback,
  testId,
  onTokenRejected,
}: {
  feedback: EditFeedback;
  testId: string;
  onTokenRejected: () => void;
}) {
  if (!feedback) return null;
  return (
    <Notice tone={feedback.tone} testId={testId}>
      <p>{feedback.text}</p>
      {feedback.tokenProblem && (
        <button type="button" className="button button--small" onClick={onTokenRejected}>
          Enter another link
        </button>
      )}
    </Notice>
  );
}
