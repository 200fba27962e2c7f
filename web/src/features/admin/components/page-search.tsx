import { useEffect, useState } from "react";
import { Link } from "react-router";

import { Spinner } from "@/components/ui/spinner";
import { useResource } from "@/lib/use-resource";

import { searchPages } from "../api/search-pages";
import { useAdmin } from "../hooks/admin-context";
import { formatTime } from "../utils/format";
import { ConsoleError } from "./console-error";
import { PageBadges } from "./page-badges";

type PageSearchProps = {
  query: string;
  onQuery: (query: string) => void;
  /** Where a found page's view is. */
  pageLink: (slug: string) => string;
};

/** Pages by slug prefix, any casing; every state, with badges. */
export function PageSearch({ query, onQuery, pageLink }: PageSearchProps) {
  const { token } = useAdmin();
  const [typed, setTyped] = useState(query);
  const { resource, reload } = useResource((signal) => searchPages(token, query, signal), [token, query]);

  // Searches a moment after typing stops.
  useEffect(() => {
    if (typed.trim() === query) return;
    const timer = window.setTimeout(() => onQuery(typed.trim()), 300);
    return () => window.clearTimeout(timer);
  }, [typed, query, onQuery]);

  return (
    <section className="admin-section" aria-labelledby="admin-search-title">
      <h2 id="admin-search-title" className="section-title">
        Pages
      </h2>
      <form
        className="admin-search"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          onQuery(typed.trim());
        }}
      >
        <div className="field">
          <label className="field-label" htmlFor="admin-search">
            Slug starts with
          </label>
          <input
            id="admin-search"
            type="search"
            autoComplete="off"
            spellCheck={false}
            value={typed}
            maxLength={50}
            onChange={(event) => setTyped(event.target.value)}
            data-testid="admin-search"
          />
        </div>
        <button type="submit" className="button">
          Search
        </button>
      </form>
      {resource.state === "loading" && <Spinner label="Searching" />}
      {resource.state === "failed" && <ConsoleError error={resource.error} onRetry={reload} />}
      {resource.state === "ready" &&
        (resource.data.length === 0 ? (
          <p className="muted" data-testid="admin-no-pages">
            No page's slug starts with “{query}”.
          </p>
        ) : (
          <div className="admin-table-wrap">
            <table className="admin-table" data-testid="admin-pages">
              <caption className="visually-hidden">Pages whose slug starts with “{query}”</caption>
              <thead>
                <tr>
                  <th scope="col">Slug</th>
                  <th scope="col">Title</th>
                  <th scope="col">State</th>
                  <th scope="col">Last change</th>
                  <th scope="col" className="admin-num">
                    Last stream seq.
                  </th>
                </tr>
              </thead>
              <tbody>
                {resource.data.map((page) => (
                  <tr key={page.slug_key} data-testid="admin-page-row" data-slug={page.slug_key}>
                    <th scope="row">
                      <Link to={pageLink(page.slug)}>/{page.slug}</Link>
                    </th>
                    <td className="admin-title">{page.title || <em className="muted">erased</em>}</td>
                    <td>
                      <PageBadges state={page.state} takenDown={page.taken_down_at !== null} reports={page.reports} />
                    </td>
                    <td>{formatTime(page.updated_at)}</td>
                    <td className="admin-num">{page.last_stream_sequence}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ))}
    </section>
  );
}
