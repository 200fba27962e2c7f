import type { ReactNode } from "react";
import { useLocation, useRouteError } from "react-router";

import { ErrorBoundary } from "@/components/errors/error-boundary";
import { ErrorFallback } from "@/components/errors/error-fallback";

/**
 * Keeps a crash inside one route: the fallback replaces only that screen, and going to
 * another address starts afresh.
 */
export function RouteBoundary({ children }: { children: ReactNode }) {
  const { pathname } = useLocation();
  return (
    <ErrorBoundary
      key={pathname}
      fallback={({ error, reset }) => (
        <main className="app-main app-main--alone">
          <ErrorFallback error={error} reset={reset} />
        </main>
      )}
    >
      {children}
    </ErrorBoundary>
  );
}

/** The router's own error screen, for anything thrown outside a route's boundary. */
export function RouterErrorFallback() {
  const error = useRouteError();
  return (
    <main className="app-main app-main--alone">
      <ErrorFallback error={error} />
    </main>
  );
}
