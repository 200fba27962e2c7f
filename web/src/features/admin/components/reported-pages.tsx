import { Link } from "react-router";

import { Spinner } from "@/components/ui/spinner";
import { reportReasonLabel } from "@/config/report-reasons";
import { useResource } from "@/lib/use-resource";

import { getReports } from "../api/get-reports";
import { useAdmin } from "../hooks/admin-context";
import type { ReportedPage } from "../types/admin";
import { formatTime } from "../utils/format";
import { ConsoleError } from "./console-error";

/** Those waiting for a decision first, then by their latest report (the API's order within each). */
export function openFirst(pages: ReportedPage[]): ReportedPage[] {
  return [...pages.filter((p) => p.open), ...pages.filter((p) => !p.open)];
}

function status(page: ReportedPage): string {
  if (page.taken_down_at !== null) return "taken down";
  return page.open ? "open" : "decided";
}

/** Reported live pages, the ones waiting for a moderator first. */
export function ReportedPages({ pageLink }: { pageLink: (slug: string) => string }) {
  const { token } = useAdmin();
  const { resource, reload } = useResource((signal) => getReports(token, signal), [token]);
  return (
    <section className="admin-section" aria-labelledby="admin-reports-title">
      <div className="admin-section-head">
        <h2 id="admin-reports-title" className="section-title">
          Reports
        </h2>
        <button type="button" className="button button--small button--ghost" onClick={reload}>
          Refresh
        </button>
      </div>
      {resource.state === "loading" && <Spinner label="Loading reports" />}
      {resource.state === "failed" && <ConsoleError error={resource.error} onRetry={reload} />}
      {resource.state === "ready" &&
        (resource.data.length === 0 ? (
          <p className="muted" data-testid="admin-no-reported-pages">
            No live page has been reported.
          </p>
        ) : (
          <div className="admin-table-wrap">
            <table className="admin-table" data-testid="admin-reported-pages">
              <caption className="visually-hidden">Reported pages, open ones first</caption>
              <thead>
                <tr>
                  <th scope="col">Page</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="admin-num">
                    Reports
                  </th>
                  <th scope="col">Reasons</th>
                  <th scope="col">Latest report</th>
                  <th scope="col">First report</th>
                </tr>
              </thead>
              <tbody>
                {openFirst(resource.data).map((page) => (
                  <tr
                    key={`${page.slug_key}-${page.page_id}`}
                    data-testid="admin-reported-page"
                    data-slug={page.slug_key}
                    data-open={page.open ? "true" : "false"}
                  >
                    <th scope="row">
                      <Link to={pageLink(page.slug)}>/{page.slug}</Link>
                      <span className="admin-title muted"> {page.title}</span>
                    </th>
                    <td>
                      <span className={`admin-badge admin-badge--${status(page).replace(" ", "-")}`}>
                        {status(page)}
                      </span>
                    </td>
                    <td className="admin-num">{page.reports}</td>
                    <td>
                      {page.reasons
                        .split(",")
                        .filter(Boolean)
                        .map((r) => reportReasonLabel(r.trim()))
                        .join(", ")}
                    </td>
                    <td>{formatTime(page.last_reported_at)}</td>
                    <td>{formatTime(page.first_reported_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </section>
  );
}
