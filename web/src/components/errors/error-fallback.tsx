import { Emblem } from "@/components/ui/emblem";

type ErrorFallbackProps = {
  error: unknown;
  reset?: () => void;
  /** Where "home" is a plain link: outside the router, a router link cannot work. */
  homeHref?: string;
};

/**
 * The friendly face of a crash. The error itself is shown only in development builds;
 * visitors get an apology and a way forward.
 */
export function ErrorFallback({ error, reset, homeHref = "/" }: ErrorFallbackProps) {
  return (
    <section className="error-fallback" role="alert" data-testid="error-fallback">
      <Emblem kind="broken-heart" />
      <h1 className="error-fallback-title">Oh no, a little heartbreak</h1>
      <p>Something went wrong while showing this. It's not you, it's us.</p>
      <div className="button-row">
        {reset && (
          <button type="button" className="button" onClick={reset}>
            Try again
          </button>
        )}
        <a className="button button--ghost" href={homeHref}>
          Go to the start
        </a>
      </div>
      {import.meta.env.DEV && (
        <details className="error-fallback-details">
          <summary>What happened (shown in development only)</summary>
          <pre>{describe(error)}</pre>
        </details>
      )}
    </section>
  );
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}\n\n${error.stack ?? ""}`;
  try {
    return JSON.stringify(error, null, 2);
  } catch {
    return String(error);
  }
}
