import { Link, useParams } from "react-router";

import { PageDesign } from "@/components/designs/page-design";
import { AppShell } from "@/components/layout/app-shell";
import { Emblem } from "@/components/ui/emblem";
import { Notice } from "@/components/ui/notice";
import { Spinner } from "@/components/ui/spinner";
import { paths } from "@/config/paths";
import { useReply } from "@/features/answers/hooks/use-reply";
import { getPage } from "@/features/pages/api/get-page";
import type { Page } from "@/features/pages/types/page";
import { recallToken } from "@/features/pages/utils/edit-token";
import { slugFormatProblem } from "@/features/slugs/utils/slug-rules";
import { ApiError, errorMessage } from "@/lib/api-client";
import { useDocumentTitle } from "@/lib/use-document-title";
import { useResource } from "@/lib/use-resource";

/** `/:slug`: a page, shown in its design. */
export function ViewRoute() {
  const { slug = "" } = useParams();
  if (slugFormatProblem(slug) !== null) return <PageNotFound slug={slug} />;
  return <PageView slug={slug} />;
}

function PageView({ slug }: { slug: string }) {
  const { resource, reload } = useResource((signal) => getPage(slug, { signal, editToken: recallToken(slug) }), [slug]);
  useDocumentTitle(resource.state === "ready" ? resource.data.title : null);

  if (resource.state === "loading") {
    return (
      <main id="main" className="viewer viewer--loading" data-testid="page-loading">
        <Spinner label="Opening your valentine" />
      </main>
    );
  }
  if (resource.state === "failed") {
    if (resource.error instanceof ApiError && resource.error.status === 404) return <PageNotFound slug={slug} />;
    return (
      <AppShell>
        <section className="panel panel--center">
          <Notice tone="error" title="We couldn't open this page">
            <p>{errorMessage(resource.error)}</p>
          </Notice>
          <button type="button" className="button" onClick={reload}>
            Try again
          </button>
        </section>
      </AppShell>
    );
  }

  return <LoadedPage key={`${resource.data.slug}:${resource.data.id}`} page={resource.data} />;
}

/** The page in its design, with the visitor's one reply. */
function LoadedPage({ page }: { page: Page }) {
  const canEdit = recallToken(page.slug) !== null;
  const reply = useReply(page, { author: canEdit });
  return (
    <main id="main" className="viewer">
      <PageDesign content={page} templateId={page.template_id} reply={reply} />
      <footer className="viewer-footer">
        <Link to={paths.home()} className="viewer-link" data-testid="make-your-own">
          Make your own ♥
        </Link>
        {canEdit && (
          <Link to={paths.edit(page.slug)} className="viewer-link" data-testid="edit-this-page">
            Edit this page
          </Link>
        )}
      </footer>
    </main>
  );
}

/** No page lives at this address (never did, or was deleted). */
function PageNotFound({ slug }: { slug: string }) {
  useDocumentTitle("Not found");
  const free = slugFormatProblem(slug) === null;
  return (
    <AppShell>
      <section className="panel panel--center" data-testid="page-not-found">
        <Emblem kind="letter" />
        <h1 className="screen-title">No valentine here… yet</h1>
        <p>
          There's no page at <strong className="nowrap">/{slug}</strong>. The link may have a typo, or the page was
          taken down.
        </p>
        <div className="button-row">
          <Link className="button" to={free ? paths.createAt(slug) : paths.home()} data-testid="create-here">
            {free ? "Create one at this address" : "Make a valentine"}
          </Link>
        </div>
      </section>
    </AppShell>
  );
}
