import { Handler } from "stoat";

/** The routes-and-handlers example (docs/handlers.md): one action writes the session, one shows it. */
export class PostsHandler extends Handler {
  async index() {
    this.session.set("current_time", new Date().toISOString());
    this.json({ message: "set some data in the session" });
  }

  async show() {
    this.json(this.session); // Jets' `render json: session`: the session's keys
  }
}
