package org.align4j.examples;

import java.util.List;
import java.util.SplittableRandom;

/**
 * A corpus of short children's stories produced from a small grammar (in the spirit of
 * TinyStories): characters, places, a wish or a problem, an attempt, a resolution, a feeling.
 * All text is generated here, so the corpus carries no third-party rights. Deterministic per seed.
 */
public final class StoryCorpus {

    private static final List<String> NAMES = List.of(
            "Lily", "Tom", "Mia", "Ben", "Sara", "Max", "Anna", "Leo", "Zoe", "Sam", "Ella", "Jack", "Nora", "Finn",
            "Ruby", "Oscar", "Ivy", "Hugo", "Lucy", "Theo", "Ada", "Milo", "Iris", "Noah", "Clara", "Felix", "Maya",
            "Eli", "Rosa", "Luca", "Hannah", "Adam", "Grace", "Oliver", "Alice", "Henry", "Emma", "Jonas", "Lena",
            "Paul", "Sophie", "Daniel", "Julia", "Victor", "Chloe", "Arthur", "Amelia", "Ezra", "Hazel", "Louis",
            "Stella", "Otto", "Daisy", "Kai", "Willow", "Ruth", "Marco", "Greta", "Liam", "Olive", "Peter", "Frida",
            "Simon", "Wendy");
    private static final List<String> ANIMALS = List.of(
            "cat", "dog", "bunny", "bird", "fox", "bear", "frog", "duck", "mouse", "owl", "turtle", "koala", "puppy",
            "kitten", "lion", "horse", "tiger", "rabbit", "squirrel", "hedgehog", "penguin", "dolphin", "elephant",
            "giraffe", "monkey", "goat", "sheep", "pig", "cow", "chicken", "goose", "deer", "wolf", "badger",
            "otter", "beaver", "raccoon", "panda", "zebra", "camel", "crab", "whale", "seal", "parrot", "snail",
            "bee", "butterfly", "ladybug", "spider");
    private static final List<String> PLACES = List.of(
            "the park", "the garden", "the forest", "the beach", "the farm", "the river", "the big hill",
            "the school", "the old house", "the market", "the lake", "the meadow", "the zoo", "the library",
            "the castle", "the cave", "the island", "the bakery", "the playground", "the village", "the mountain",
            "the pond", "the station", "the museum", "the harbor", "the field", "the orchard", "the bridge",
            "the tower", "the valley", "the attic", "the kitchen", "the backyard", "the city", "the desert",
            "the jungle");
    private static final List<String> THINGS = List.of(
            "ball", "kite", "red box", "little boat", "shiny stone", "hat", "book", "blue cup", "toy car", "drum",
            "map", "yellow flower", "cake", "key", "sock", "bell", "teddy bear", "umbrella", "lantern", "blanket",
            "crayon", "puzzle", "whistle", "scarf", "balloon", "robot", "wagon", "bucket", "shell", "feather",
            "cookie", "apple", "banana", "pencil", "marble", "bicycle", "clock", "mirror", "basket", "ribbon",
            "spoon", "treasure chest", "green leaf", "paper plane", "snow globe", "music box", "wooden sword",
            "pillow", "crown", "magic wand", "camera", "jar of honey", "fishing rod", "backpack");
    private static final List<String> ADJ = List.of(
            "happy", "little", "kind", "brave", "small", "funny", "curious", "shy", "friendly", "quiet", "clever",
            "sleepy", "gentle", "proud", "silly", "busy", "tiny", "fluffy", "grumpy", "playful", "careful",
            "cheerful", "lonely", "wise", "young", "old", "polite", "noisy", "lucky", "bold");
    private static final List<String> WEATHER = List.of(
            "sunny", "warm", "windy", "rainy", "cold", "bright", "snowy", "cloudy", "foggy", "stormy", "lovely",
            "quiet");
    private static final List<String> FEEL_GOOD = List.of(
            "happy", "glad", "proud", "excited", "calm", "thankful", "cheerful", "joyful", "safe", "warm");
    private static final List<String> FEEL_BAD = List.of(
            "sad", "worried", "scared", "tired", "upset", "lonely", "angry", "confused", "nervous", "sorry");
    private static final List<String> VERBS = List.of(
            "play", "run", "jump", "sing", "dance", "read", "draw", "swim", "climb", "build", "paint", "bake", "fly",
            "explore", "dig", "skip", "hop", "count");

    private static final List<String> FOODS = List.of(
            "apples", "bananas", "carrots", "cherries", "grapes", "pears", "plums", "peaches", "oranges", "lemons",
            "strawberries", "blueberries", "tomatoes", "potatoes", "onions", "peas", "beans", "cabbage", "pumpkins",
            "mushrooms", "cucumbers", "noodles", "rice", "bread", "cheese", "butter", "eggs", "milk", "yogurt",
            "soup", "pancakes", "waffles", "muffins", "cookies", "pretzels", "popcorn", "sandwiches", "pies", "jam",
            "honey", "nuts", "raisins", "melons", "corn", "spinach", "broccoli");
    private static final List<String> COLORS = List.of(
            "red", "blue", "green", "yellow", "orange", "purple", "pink", "brown", "black", "white", "golden",
            "silver", "gray");
    private static final List<String> NUMBERS = List.of(
            "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "twenty");
    private static final List<String> DAYS = List.of(
            "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday");
    private static final List<String> MONTHS = List.of(
            "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
            "November", "December");
    private static final List<String> JOBS = List.of(
            "baker", "farmer", "doctor", "teacher", "painter", "sailor", "pilot", "builder", "gardener", "fisherman",
            "nurse", "singer", "dancer", "firefighter", "mailman", "librarian", "cook", "tailor");
    private static final List<String> CLOTHES = List.of(
            "boots", "mittens", "coat", "sweater", "jacket", "dress", "shirt", "shorts", "socks", "gloves", "cap",
            "slippers", "pajamas", "raincoat");
    private static final List<String> VEHICLES = List.of(
            "bus", "train", "truck", "tractor", "rowboat", "sailboat", "airplane", "helicopter", "scooter", "sled",
            "rocket", "submarine");
    private static final List<String> NATURE = List.of(
            "trees", "flowers", "clouds", "stars", "waves", "rocks", "hills", "leaves", "branches", "puddles",
            "rainbows", "mountains", "rivers", "seeds", "roots", "acorns", "pebbles", "snowflakes", "fireflies",
            "mushrooms");
    private static final List<String> SOUNDS = List.of(
            "buzzed", "chirped", "roared", "barked", "meowed", "quacked", "hooted", "squeaked", "croaked", "growled",
            "whistled", "giggled");

    private StoryCorpus() {
    }

    private static String pick(List<String> xs, SplittableRandom r) {
        return xs.get(r.nextInt(xs.size()));
    }

    private static String cap(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    /** One story of a few sentences. */
    public static String story(SplittableRandom r) {
        String name = pick(NAMES, r);
        String friend = pick(NAMES, r);
        while (friend.equals(name)) {
            friend = pick(NAMES, r);
        }
        String animal = pick(ANIMALS, r);
        String place = pick(PLACES, r);
        String thing = pick(THINGS, r);
        String adj = pick(ADJ, r);
        String verb = pick(VERBS, r);
        String bad = pick(FEEL_BAD, r);
        String good = pick(FEEL_GOOD, r);
        StringBuilder s = new StringBuilder();
        switch (r.nextInt(3)) {
            case 0 -> s.append("Once upon a time, there was a ").append(adj).append(" ").append(animal)
                    .append(" named ").append(name).append(". ");
            case 1 -> s.append("One ").append(pick(WEATHER, r)).append(" day, ").append(name)
                    .append(" went to ").append(place).append(". ");
            default -> s.append(name).append(" was a ").append(adj).append(" ").append(animal).append(" who loved to ")
                    .append(verb).append(". ");
        }
        switch (r.nextInt(10)) {
            case 0 -> s.append(cap(name)).append(" had a ").append(thing).append(". ").append(name)
                    .append(" loved the ").append(thing).append(" very much. One day, the ").append(thing)
                    .append(" was gone. ").append(name).append(" felt ").append(bad).append(". ")
                    .append(name).append(" looked everywhere. ").append(name).append(" looked under the bed and in ")
                    .append(place).append(". At last, ").append(friend).append(" came and said, \"I found your ")
                    .append(thing).append("!\" ").append(name).append(" was so ").append(good).append(". ");
            case 1 -> s.append("At ").append(place).append(", ").append(name).append(" met ").append(friend)
                    .append(". \"Do you want to ").append(verb).append(" with me?\" asked ").append(name)
                    .append(". \"Yes!\" said ").append(friend).append(". They played all day and laughed a lot. ")
                    .append("When the sun went down, they were tired but ").append(good).append(". ");
            case 2 -> s.append("It started to rain. ").append(name).append(" was ").append(bad)
                    .append(" because ").append(name).append(" wanted to ").append(verb).append(" outside. ")
                    .append("Mom said, \"Let us ").append(pick(List.of("read a book", "bake a cake", "draw a picture",
                            "build a tower"), r)).append(" instead.\" ").append(name).append(" smiled. ")
                    .append("Soon the rain stopped, and a rainbow came out. ");
            case 3 -> s.append(cap(name)).append(" wanted to bake a cake for ").append(friend).append(". ")
                    .append(name).append(" needed flour, eggs and a ").append(pick(List.of("cherry", "strawberry",
                            "lemon", "chocolate bar", "spoon of honey"), r)).append(". The kitchen got very messy. ")
                    .append("But the cake was ").append(pick(List.of("yummy", "sweet", "soft", "big", "warm"), r))
                    .append(", and ").append(friend).append(" said it was the best cake ever. ");
            case 4 -> s.append(cap(name)).append(" and ").append(friend).append(" found an old ").append(thing)
                    .append(" near ").append(place).append(". \"What is it?\" asked ").append(friend).append(". ")
                    .append(name).append(" did not know. They showed it to a ").append(pick(ADJ, r)).append(" ")
                    .append(pick(ANIMALS, r)).append(", who said, \"It is very special. Keep it safe.\" ")
                    .append("So they took good care of it. ");
            case 5 -> s.append("There was a big race at ").append(place).append(". ").append(name)
                    .append(" was ").append(bad).append(" because the other ").append(pick(ANIMALS, r))
                    .append("s were fast. But ").append(name).append(" did not give up. ").append(name)
                    .append(" ran and ran, and came ").append(pick(List.of("first", "second", "last", "third"), r))
                    .append(". Everyone cheered, and ").append(name).append(" felt ").append(good).append(". ");
            case 6 -> s.append("On ").append(pick(DAYS, r)).append(", ").append(name).append(" went to the market with ")
                    .append(friend).append(". They bought ").append(pick(NUMBERS, r)).append(" ").append(pick(FOODS, r))
                    .append(", some ").append(pick(FOODS, r)).append(" and a bag of ").append(pick(FOODS, r))
                    .append(". The ").append(pick(JOBS, r)).append(" at the stall gave them a free ")
                    .append(pick(COLORS, r)).append(" ").append(pick(THINGS, r)).append(". ");
            case 7 -> s.append("In ").append(pick(MONTHS, r)).append(", the ").append(pick(NATURE, r))
                    .append(" were ").append(pick(COLORS, r)).append(". ").append(name).append(" put on ")
                    .append(pick(CLOTHES, r)).append(" and a ").append(pick(COLORS, r)).append(" ")
                    .append(pick(CLOTHES, r)).append(" and went outside. A ").append(pick(ANIMALS, r)).append(" ")
                    .append(pick(SOUNDS, r)).append(" nearby. ").append(name).append(" counted ")
                    .append(pick(NUMBERS, r)).append(" ").append(pick(NATURE, r)).append(" on the way to ")
                    .append(place).append(". ");
            case 8 -> s.append(cap(name)).append(" wanted to be a ").append(pick(JOBS, r)).append(" one day. ")
                    .append(friend).append(" wanted to drive a ").append(pick(VEHICLES, r)).append(". They built a ")
                    .append(pick(VEHICLES, r)).append(" out of boxes and ").append(pick(COLORS, r))
                    .append(" paper. \"Where shall we go?\" asked ").append(friend).append(". \"To ")
                    .append(place).append("!\" said ").append(name).append(". ");
            default -> s.append(cap(name)).append(" saw a ").append(pick(ANIMALS, r)).append(" stuck in a tree. ")
                    .append("The poor ").append(animal).append(" was ").append(bad).append(". ").append(name)
                    .append(" was ").append(pick(List.of("brave", "kind", "clever"), r)).append(". ")
                    .append(name).append(" helped it climb down. \"Thank you!\" it said. ");
        }
        switch (r.nextInt(3)) {
            case 0 -> s.append("From that day on, ").append(name).append(" and ").append(friend)
                    .append(" were best friends.");
            case 1 -> s.append(cap(name)).append(" learned that it is good to ").append(pick(List.of("share",
                    "be kind", "help others", "never give up", "ask for help", "say sorry"), r)).append(".");
            default -> s.append("That night, ").append(name).append(" went to bed feeling ").append(good)
                    .append(".");
        }
        return s.toString();
    }

    /** {@code n} stories, one JSON-escaped {"text": ...} record each, from one seed. */
    public static List<String> stories(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        java.util.ArrayList<String> out = new java.util.ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(story(r));
        }
        return out;
    }
}
