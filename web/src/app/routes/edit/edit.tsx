import { useState } from "react";
import { Link, useLocation, useParams } from "react-router";

import { AppShell } from "@/components/layout/app-shell";
import { Notice } from "@/components/ui/notice";
import { Spinner } from "@/components/ui/spinner";
import { paths } from "@/config/paths";
import { getPageForAuthor } from "@/features/pages/api/update-page";
import { forgetToken, recallToken, rememberToken, tokenFromHash } from "@/features/pages/utils/edit-token";
import { slugFormatProblem } from "@/features/slugs/utils/slug-rules";
import { ApiError, errorMessage } from "@/lib/api-client";
import { useDocumentTitle } from "@/lib/use-document-title";
import { useResource } from "@/lib/use-resource";

import { Deleted } from "./deleted";
import { Editor } from "./editor";
import { TokenForm } from "./token-form";

/**
 * The token from the address bar's fragment, else the one this tab remembers. A token
 * found in the fragment is remembered and the fragment removed, so it does not linger in
 * the address bar, in history or in screenshots.
 */
function takeToken(slug: string, hash: string): string | null {
  const fromHash = tokenFromHash(hash);
  if (fromHash) {
    rememberToken(slug, fromHash);
    if (window.location.hash) {
      // The router's own state is kept, so back and forward still work.
      const { pathname, search } = window.location;
      window.history.replaceState(window.history.state, "", `${pathname}${search}`);
    }
    return fromHash;
  }
  return recallToken(slug);
}

/** `/:slug/edit#token=…`: the author changes or deletes their page. */
export function EditRoute() {
  const { slug = "" } = useParams();
  const { hash } = useLocation();
  const [token, setToken] = useState<string | null>(() => takeToken(slug, hash));
  const [deleted, setDeleted] = useState(false);
  useDocumentTitle(deleted ? "Page deleted" : `Edit /${slug}`);

  if (slugFormatProblem(slug) !== null) {
    return (
      <AppShell>
        <section className="panel panel--center" data-testid="not-found">
          <h1 className="screen-title">No page here</h1>
          <p>This address can't belong to a page.</p>
          <Link className="button" to={paths.home()}>
            Make a valentine
          </Link>
        </section>
      </AppShell>
    );
  }

  if (deleted) {
    return (
      <AppShell>
        <Deleted slug={slug} />
      </AppShell>
    );
  }

  return (
    <AppShell>
      {token === null ? (
        <section className="panel" data-testid="token-needed">
          <h1 className="screen-title">Edit /{slug}</h1>
          <p>To change this page, open the private edit link you got when you made it, or paste it here.</p>
          <TokenForm
            onToken={(value) => {
              rememberToken(slug, value);
              setToken(value);
            }}
          />
        </section>
      ) : (
        <LoadedEditor
          key={token}
          slug={slug}
          token={token}
          onWrongToken={() => {
            forgetToken(slug);
            setToken(null);
          }}
          onDeleted={() => {
            forgetToken(slug);
            setDeleted(true);
          }}
        />
      )}
    </AppShell>
  );
}

type LoadedEditorProps = { slug: string; token: string; onWrongToken: () => void; onDeleted: () => void };

function LoadedEditor({ slug, token, onWrongToken, onDeleted }: LoadedEditorProps) {
  const { resource, reload } = useResource((signal) => getPageForAuthor(slug, token, signal), [slug, token]);

  if (resource.state === "loading") {
    return (
      <section className="panel panel--center panel--tall" data-testid="editor-loading">
        <Spinner label="Opening your page" />
      </section>
    );
  }
  if (resource.state === "failed") {
    const error = resource.error;
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
      return (
        <section className="panel" data-testid="token-rejected" data-status={error.status}>
          <h1 className="screen-title">This edit link doesn't work</h1>
          <Notice
            tone="error"
            title={error.status === 401 ? "The link has no edit token" : "The edit token doesn't match this page"}
          >
            <p>
              {error.status === 401
                ? "The private part of the link (after #token=) is missing."
                : "Make sure you copied the whole private link you got when you created the page. Links from other pages don't work here."}
            </p>
          </Notice>
          <button type="button" className="button" onClick={onWrongToken} data-testid="enter-another-token">
            Enter another link
          </button>
        </section>
      );
    }
    if (error instanceof ApiError && error.status === 404) {
      return (
        <section className="panel panel--center" data-testid="page-not-found">
          <h1 className="screen-title">No page at /{slug}</h1>
          <p>It may have been deleted already.</p>
          <Link className="button" to={paths.createAt(slug)}>
            Create one at this address
          </Link>
        </section>
      );
    }
    return (
      <section className="panel panel--center">
        <Notice tone="error" title="We couldn't open your page">
          <p>{errorMessage(error)}</p>
        </Notice>
        <button type="button" className="button" onClick={reload}>
          Try again
        </button>
      </section>
    );
  }
  return <Editor initialPage={resource.data} token={token} onDeleted={onDeleted} onTokenRejected={onWrongToken} />;
}
