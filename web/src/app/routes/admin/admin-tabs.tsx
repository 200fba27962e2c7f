import { Link } from "react-router";

import { paths } from "@/config/paths";
import { HealthView } from "@/features/admin/components/health-view";
import { ReportedPages } from "@/features/admin/components/reported-pages";
import { StreamsView } from "@/features/admin/components/streams-view";
import { useDocumentTitle } from "@/lib/use-document-title";

/** `/admin/reports`: reported pages, open ones first. */
export function AdminReportsRoute() {
  useDocumentTitle("Reports · Console");
  return <ReportedPages pageLink={paths.adminPage} />;
}

/** `/admin/streams`: the event store's streams and consumers. */
export function AdminStreamsRoute() {
  useDocumentTitle("Streams · Console");
  return <StreamsView />;
}

/** `/admin/health`: lag, heartbeats and parked events, refreshed every two seconds. */
export function AdminHealthRoute() {
  useDocumentTitle("Health · Console");
  return <HealthView />;
}

/** Any other address under `/admin`. */
export function AdminNotFoundRoute() {
  return (
    <section className="admin-section" data-testid="not-found">
      <h2 className="section-title">Nothing here</h2>
      <p>
        <Link to={paths.admin()}>Back to the pages</Link>
      </p>
    </section>
  );
}
