import type { ReactNode } from "react";

import { ErrorBoundary } from "@/components/errors/error-boundary";
import { ErrorFallback } from "@/components/errors/error-fallback";

/** What wraps the whole app: the last line of defence against a crash. */
export function AppProvider({ children }: { children: ReactNode }) {
  return (
    <ErrorBoundary
      fallback={({ error }) => (
        <main className="app-main app-main--alone">
          <ErrorFallback error={error} reset={() => window.location.reload()} />
        </main>
      )}
    >
      {children}
    </ErrorBoundary>
  );
}
