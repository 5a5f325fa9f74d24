CREATE TABLE "Mixed Case" ("Id" int PRIMARY KEY, "order" text, "select" int);
CREATE INDEX "Mixed idx" ON "Mixed Case" ("order");
