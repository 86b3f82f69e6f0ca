import { CookieStore } from "stoat";
import { SECRET } from "../../support/app.js";
import { storeContract } from "../../support/store_contract.js";

storeContract("cookie", {
  make: async () => ({ store: new CookieStore({ secrets: [SECRET] }) }),
  differences: {
    destroyKeepsCopies: "the record lives in the cookie itself; there is no server copy to delete",
    newValueOnEverySave: "every seal has a fresh IV, so each save is a new cookie value",
  },
});
