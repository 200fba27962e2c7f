import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "@/app";

import "@fontsource/nunito/400.css";
import "@fontsource/nunito/700.css";
import "@fontsource/nunito/800.css";
import "@fontsource/pacifico/400.css";
import "@fontsource/caveat/400.css";
import "@fontsource/caveat/700.css";
import "@/styles/fonts.css";
import "@/styles/base.css";
import "@/styles/app.css";
import "@/styles/designs.css";

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");

createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
