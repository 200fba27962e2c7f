import type { ReactNode } from "react";
import { Link } from "react-router";

import { FloatingHearts } from "@/components/effects/floating-hearts";
import { paths } from "@/config/paths";

/** The frame of the app's own screens: brand, content, a quiet footer, hearts behind. */
export function AppShell({ children }: { children: ReactNode }) {
  return (
    <div className="app-shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <FloatingHearts count={12} />
      <header className="app-header">
        <Link to={paths.home()} className="brand" aria-label="Valentine, make a page">
          Valentine <span aria-hidden="true">♥</span>
        </Link>
      </header>
      <main id="main" className="app-main" tabIndex={-1}>
        {children}
      </main>
      <footer className="app-footer">
        <p>Made with love. A page can be seen by anyone who has its link.</p>
      </footer>
    </div>
  );
}
