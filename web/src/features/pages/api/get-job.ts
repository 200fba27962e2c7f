import { ApiError, apiData, segment } from "@/lib/api-client";
import { sleep } from "@/lib/sleep";
import { z } from "@/lib/zod";

import { pageSchema, type Page } from "../types/page";

const jobSchema = z.object({
  job_id: z.string(),
  status: z.enum(["queued", "started", "finished", "failed"]),
  result: z.optional(z.nullable(z.object({ page: pageSchema, url: z.string() }))),
  error: z.optional(z.nullable(z.string())),
});

export type Job = z.output<typeof jobSchema>;
export type JobStatus = Job["status"];

/**
 * `GET /api/pages/job/{job_id}`: where a queued create stands. It reports its own progress,
 * so it names no write position (which would hold it until the page is live).
 */
export function getJob(jobId: string, signal?: AbortSignal): Promise<Job> {
  return apiData(`/api/pages/job/${segment(jobId)}`, jobSchema, { signal, sync: false });
}

/** The job ended without a page: it failed, or the page was deleted in the meantime. */
export class JobFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "JobFailedError";
  }
}

/** The job was still running when polling gave up; the page may still appear. */
export class JobTimeoutError extends Error {
  constructor() {
    super("Your page is taking longer than usual to go live.");
    this.name = "JobTimeoutError";
  }
}

export type WaitForJobOptions = {
  signal?: AbortSignal;
  /** Pause between polls. */
  intervalMs?: number;
  /** Give up after this long. */
  timeoutMs?: number;
  /** Told each status seen, e.g. to show "queued" then "started". */
  onStatus?: (status: JobStatus) => void;
};

/**
 * Polls a create's job once a second (by default) until its page is live, for at most
 * 30 seconds. Passing failures (no answer, `503`) are polled through; other errors end it.
 *
 * @returns the live page and its address
 * @throws JobTimeoutError when time runs out, JobFailedError when the job ends without a page
 */
export async function waitForJob(
  jobId: string,
  { signal, intervalMs = 1000, timeoutMs = 30_000, onStatus }: WaitForJobOptions = {},
): Promise<{ page: Page; url: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let pause = intervalMs;
    try {
      const job = await getJob(jobId, signal);
      onStatus?.(job.status);
      if (job.status === "finished") {
        if (job.result) return job.result;
        throw new JobFailedError(job.error ?? "The page is no longer there.");
      }
      if (job.status === "failed") {
        throw new JobFailedError(job.error ?? "The page could not be created.");
      }
    } catch (error) {
      if (!(error instanceof ApiError) || !error.transient) throw error;
      if (error.retryAfter !== null) pause = Math.max(pause, error.retryAfter * 1000);
    }
    if (Date.now() + pause > deadline) throw new JobTimeoutError();
    await sleep(pause, signal);
  }
}
