import { Emblem } from "@/components/ui/emblem";
import type { JobStatus } from "@/features/pages/api/get-job";

const SAY: Record<JobStatus, string> = {
  queued: "Your page is saved and waiting its turn…",
  started: "Putting the finishing touches on it…",
  finished: "Done!",
  failed: "Something went wrong.",
};

/** The create was accepted (`202`) and the page is on its way: we poll until it is live. */
export function Waiting({ status }: { status: JobStatus }) {
  return (
    <section className="panel panel--center waiting" data-testid="waiting" data-status={status} aria-busy="true">
      <Emblem kind="heart" />
      <h1 className="screen-title">Almost there</h1>
      <p role="status" aria-live="polite">
        {SAY[status]}
      </p>
      <p className="muted">This usually takes a second or two.</p>
    </section>
  );
}
