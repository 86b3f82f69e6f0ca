// The demo app that `npm start` serves. A project made by `stoat new` has a file just like it.
import { Application } from "stoat";
import routes from "./routes.js";

export default Application.configure((config) => {
  config.routes = routes;
  config.session.store = "cookie"; // the default: sessions in an iron-sealed cookie, no server needed
  config.session.options = {
    key: "_stoat_demo_session",
    expireAfter: 2592000, // 30 days of inactivity
    secret: process.env.SECRET_KEY_BASE, // unset in development: a secret is generated into tmp/
    oldSecret: process.env.SECRET_KEY_BASE_OLD,
  };
});
