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
  // 员工任务 as the channel needs no message template: the task's fields say what to do.
  const channel = form.querySelector("[name=message_channel]");
  function updateChannel() {
    form.querySelectorAll("[data-hide-channel]").forEach((node) => {
      node.hidden = channel !== null && node.dataset.hideChannel.split(" ").includes(channel.value);
    });
  }
  if (channel) {
    channel.addEventListener("change", updateChannel);
    updateChannel();
  }
})();
