import type { Routes } from "stoat";
import { HelloHandler } from "../src/handlers/hello_handler.js";
import { HomeHandler } from "../src/handlers/home_handler.js";
import { PostsHandler } from "../src/handlers/posts_handler.js";

export default (r: Routes) => {
  r.get("/", HomeHandler, "index");
  r.post("/sign_in", HomeHandler, "signIn");
  r.post("/sign_out", HomeHandler, "signOut");
  r.get("/posts", PostsHandler, "index"); // Jets style: named action
  r.get("/posts/:id", PostsHandler, "show");
  r.route("/hello", HelloHandler); // Marten style: get()/post()/... by HTTP method
};
