import { Handler } from "stoat";

/** Marten style: routed with `r.route`, the HTTP method picks the action. */
export class HelloHandler extends Handler {
  async get() {
    this.session.set("foo", "bar");
    this.respond("Hello World!");
  }
}
