import { useState } from "react";
import { createBrowserRouter, RouterProvider, type RouteObject } from "react-router";

import { CreateRoute } from "./routes/create/create";
import { EditRoute } from "./routes/edit/edit";
import { NotFoundRoute } from "./routes/not-found";
import { UnsubscribeRoute } from "./routes/unsubscribe";
import { ViewRoute } from "./routes/view";
import { RouteBoundary, RouterErrorFallback } from "./route-boundary";

/** Every address the app answers; each screen behind its own error boundary. */
export const routes: RouteObject[] = [
  {
    errorElement: <RouterErrorFallback />,
    children: [
      {
        index: true,
        element: (
          <RouteBoundary>
            <CreateRoute />
          </RouteBoundary>
        ),
      },
      {
        path: ":slug",
        element: (
          <RouteBoundary>
            <ViewRoute />
          </RouteBoundary>
        ),
      },
      {
        path: ":slug/edit",
        element: (
          <RouteBoundary>
            <EditRoute />
          </RouteBoundary>
        ),
      },
      {
        path: ":slug/unsubscribe",
        element: (
          <RouteBoundary>
            <UnsubscribeRoute />
          </RouteBoundary>
        ),
      },
      {
        path: "*",
        element: (
          <RouteBoundary>
            <NotFoundRoute />
          </RouteBoundary>
        ),
      },
    ],
  },
];

export function AppRouter() {
  const [router] = useState(() => createBrowserRouter(routes));
  return <RouterProvider router={router} />;
}
