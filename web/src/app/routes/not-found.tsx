import { Link } from "react-router";

import { AppShell } from "@/components/layout/app-shell";
import { Emblem } from "@/components/ui/emblem";
import { paths } from "@/config/paths";
import { useDocumentTitle } from "@/lib/use-document-title";

/** Any address the app does not know. */
export function NotFoundRoute() {
  useDocumentTitle("Not found");
  return (
    <AppShell>
      <section className="panel panel--center" data-testid="not-found">
        <Emblem kind="broken-heart" />
        <h1 className="screen-title">This page wandered off</h1>
        <p>There's nothing at this address. Maybe the link has a typo?</p>
        <Link className="button" to={paths.home()}>
          Make a valentine
        </Link>
      </section>
    </AppShell>
  );
}
