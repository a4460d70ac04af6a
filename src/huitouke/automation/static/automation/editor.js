// The rule editor shows only the settings of the chosen trigger; without JavaScript all show.
(function () {
  const form = document.getElementById("rule-form");
  if (!form) return;
  const trigger = form.querySelector("[name=trigger]");
  function update() {
    form.querySelectorAll("[data-for]").forEach((node) => {
      node.hidden = !node.dataset.for.split(" ").includes(trigger.value);
    });
  }
  trigger.addEventListener("change", update);
  update();
})();
