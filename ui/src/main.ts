import { mount } from "svelte";
import App from "./App.svelte";
import "./app.css";

// Which input the admin used last: focus stays visible for keyboard users
// even where the engine's :focus-visible heuristics do not apply (focus moved
// by a script after a key, as menus do).
const root = document.documentElement;
addEventListener("keydown", () => (root.dataset.input = "keyboard"), true);
addEventListener("pointerdown", () => (root.dataset.input = "pointer"), true);

const target = document.getElementById("app");
if (!target) throw new Error("no #app element");
export default mount(App, { target });
